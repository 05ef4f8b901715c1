package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/jetstream"
	"github.com/sluice-events/sluice/store/postgres"
	"github.com/sluice-events/sluice/store/sqlite"
	"github.com/sluice-events/sluice/timeline"
)

// serveOptions are the flags of sluice serve.
type serveOptions struct {
	addr, db, pg            string
	keys                    []string
	keysFile                string
	cors, hosts             []string
	maxBody                 int64
	timelineCache           int64
	maxBatch, maxConns      int
	maxRPCBatch, maxResp    int
	bodyTimeout             time.Duration
	minBodyRate, maxUnauth  int
	maxScan, maxLocal       int
	maxSessionScan          int
	maxSubs                 int
	heartbeat, shutdownWait time.Duration
	logFormat, logLevel     string
	sync                    string
	nats                    natsOptions
}

// envNames maps flags whose environment variable is not simply
// SLUICE_<FLAG_IN_CAPITALS>.
var envNames = map[string]string{"key": "SLUICE_KEYS", "cors-origin": "SLUICE_CORS_ORIGINS", "allowed-host": "SLUICE_ALLOWED_HOSTS"}

// envName returns the environment variable of a flag.
func envName(flag string) string {
	if n, ok := envNames[flag]; ok {
		return n
	}
	return "SLUICE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its
// environment variable, if set. List flags take several values separated by
// spaces, commas (origins) or semicolons (keys).
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok || v == "" {
			return
		}
		vals := []string{v}
		if f.Value.Type() == "stringArray" {
			vals = strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ' ' || r == '\n' || (r == ',' && f.Name != "key") })
		}
		for _, x := range vals {
			if e := fs.Set(f.Name, x); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
				return
			}
		}
	})
	return err
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API: ingest, query, SSE, WebSocket and JSON-RPC",
		Long: "serve runs Sluice's HTTP API over a SQLite database (--db, the default), PostgreSQL\n" +
			"(--postgres DSN) or NATS JetStream (--nats URL, or --nats embedded for a one-binary node;\n" +
			"see docs/cluster.md). Every flag can also be set with an environment variable: SLUICE_ADDR,\n" +
			"SLUICE_DB, SLUICE_SYNC, SLUICE_POSTGRES, SLUICE_NATS, SLUICE_KEYS (keys separated by ';' or spaces), SLUICE_KEYS_FILE,\n" +
			"SLUICE_CORS_ORIGINS and SLUICE_ALLOWED_HOSTS (comma-separated), SLUICE_MAX_BODY, … (SLUICE_ and the flag's name).\n\n" +
			"A key is NAME:SECRET:SCOPES[:SESSION_PREFIX], with SCOPES a comma-separated list of ingest,\n" +
			"read and admin; with a prefix the key reads and writes only sessions starting with it.\n" +
			"Without keys the server accepts loopback clients only. See docs/server.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", server.DefaultAddr, "address to listen on")
	f.StringVar(&o.db, "db", "sluice.db", "SQLite database file (the default store)")
	f.StringVar(&o.pg, "postgres", "", "PostgreSQL DSN: use PostgreSQL instead of SQLite")
	f.StringVar(&o.nats.url, "nats", "", "NATS URL(s) (comma-separated): keep the log in a JetStream stream, shared by every node; \"embedded\" runs a NATS server inside sluice")
	f.StringVar(&o.nats.stream, "nats-stream", jetstream.DefaultStream, "JetStream stream that holds the log")
	f.IntVar(&o.nats.replicas, "nats-replicas", 1, "copies a NATS cluster keeps of a stream sluice creates (1 to 5)")
	f.StringVar(&o.nats.listen, "nats-listen", "127.0.0.1:4222", "with --nats embedded: the client address of the embedded NATS server")
	f.StringVar(&o.nats.dir, "nats-dir", "sluice-nats", "with --nats embedded: the directory of its JetStream data")
	f.StringVar(&o.nats.name, "nats-name", "", "with --nats embedded: the server's name, unique in a cluster")
	f.StringVar(&o.nats.clusterName, "nats-cluster", "sluice", "with --nats embedded: the cluster's name")
	f.StringVar(&o.nats.clusterAt, "nats-cluster-listen", "", "with --nats embedded: the address other nodes' routes reach this one at (host:port)")
	f.StringArrayVar(&o.nats.routes, "nats-route", nil, "with --nats embedded: a route to another node, nats://host:port (repeatable)")
	f.StringVar(&o.sync, "sync", "full", "SQLite durability: full (fsync every commit: survives power loss) or normal (faster; survives a crash of sluice, not of the machine)")
	f.StringArrayVar(&o.keys, "key", nil, "API key NAME:SECRET:SCOPES[:SESSION_PREFIX] (repeatable); SECRET may be sha256:<hex>, its SHA-256")
	f.StringVar(&o.keysFile, "keys-file", "", "file of API keys, one per line (# comments); reloaded on SIGHUP")
	f.StringArrayVar(&o.cors, "cors-origin", nil, "origin browsers may call from, or * (repeatable)")
	f.StringArrayVar(&o.hosts, "allowed-host", nil, "host name a server without keys answers besides localhost and loopback addresses (repeatable)")
	f.Int64Var(&o.maxBody, "max-body", server.DefaultMaxBodyBytes, "largest request body in bytes")
	f.IntVar(&o.maxBatch, "max-batch", server.DefaultMaxBatch, "most events per publish request")
	f.IntVar(&o.maxRPCBatch, "max-rpc-batch", server.DefaultMaxRPCBatch, "most calls per JSON-RPC batch")
	f.IntVar(&o.maxResp, "max-response", server.DefaultMaxResponseBytes, "byte budget of one query page, timeline or JSON-RPC response")
	f.Int64Var(&o.timelineCache, "timeline-cache", timeline.DefaultCacheBytes, "approximate bytes of folded timelines kept for the timeline endpoint, resume preludes and session summaries")
	f.DurationVar(&o.bodyTimeout, "body-timeout", server.DefaultBodyTimeout, "time a request body has to arrive (plus 1s per --min-body-rate bytes)")
	f.IntVar(&o.minBodyRate, "min-body-rate", server.DefaultMinBodyRate, "slowest accepted request body, in bytes per second")
	f.IntVar(&o.maxUnauth, "max-unauth-conns", server.DefaultMaxUnauthConns, "most connections open at once that have not authenticated")
	f.IntVar(&o.maxConns, "max-conns-per-key", server.DefaultMaxConnsPerKey, "most streaming connections open at once per key")
	f.IntVar(&o.maxLocal, "max-conns-local", server.DefaultMaxConnsLocal, "without keys: most streaming connections open at once per loopback IP address")
	f.IntVar(&o.maxScan, "max-scan", server.DefaultMaxScan, "most events one filtered query page reads from the log")
	f.IntVar(&o.maxSessionScan, "max-session-scan", server.DefaultMaxSessionScan, "most sessions one sessions page filtered by types examines")
	f.IntVar(&o.maxSubs, "max-subscriptions", server.DefaultMaxSubscriptions, "most subscriptions per WebSocket connection")
	f.DurationVar(&o.heartbeat, "heartbeat", server.DefaultHeartbeat, "heartbeat interval of idle streams")
	f.DurationVar(&o.shutdownWait, "shutdown-timeout", server.DefaultShutdownTimeout, "longest graceful shutdown")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}

// loadKeys gathers the keys of --key and --keys-file.
func loadKeys(specs []string, file string) ([]server.Key, error) {
	var keys []server.Key
	for _, s := range specs {
		k, err := server.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		keys = append(keys, k)
	}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--keys-file: %w", err)
		}
		defer f.Close()
		more, err := server.ParseKeys(f)
		if err != nil {
			return nil, fmt.Errorf("--keys-file %s: %w", file, err)
		}
		keys = append(keys, more...)
	}
	return keys, nil
}

// reloadKeysOnHUP reads the keys again (--key and --keys-file) on each
// SIGHUP until ctx ends or the returned stop is called. A file that does
// not load leaves the keys in force, with an error in the log.
func reloadKeysOnHUP(ctx context.Context, srv *server.Server, o serveOptions, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			keys, err := loadKeys(o.keys, o.keysFile)
			if err == nil {
				err = srv.SetKeys(keys)
			}
			if err != nil {
				log.Error("server: reloading the keys file failed; the keys in force stay", "file", o.keysFile, "err", err)
				continue
			}
			log.Info("server: keys file reloaded", "file", o.keysFile, "keys", len(keys))
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}

// syncLevel parses --sync.
func syncLevel(v string) (sqlite.Synchronous, error) {
	switch strings.ToLower(v) {
	case "full":
		return sqlite.Full, nil
	case "normal":
		return sqlite.Normal, nil
	}
	return "", fmt.Errorf("--sync must be full or normal, got %q", v)
}

// openStore opens PostgreSQL if a DSN is given, else the SQLite file with
// the durability of --sync.
func openStore(ctx context.Context, db, pg, syncFlag string, log *slog.Logger) (store.Store, string, error) {
	level, err := syncLevel(syncFlag)
	if err != nil {
		return nil, "", err
	}
	if pg != "" {
		if level != sqlite.Full {
			log.Warn("server: --sync applies to SQLite only; PostgreSQL's durability is its synchronous_commit setting", "sync", syncFlag)
		}
		st, err := postgres.Open(ctx, pg, postgres.WithLogger(log))
		if err != nil {
			return nil, "", fmt.Errorf("postgres: %w", err)
		}
		return st, "postgres", nil
	}
	if db == "" {
		return nil, "", fmt.Errorf("--db FILE is required")
	}
	st, err := sqlite.Open(ctx, db, sqlite.WithSynchronous(level), sqlite.WithLogger(log))
	if err != nil {
		return nil, "", fmt.Errorf("open %s: %w", db, err)
	}
	what := "sqlite " + db + " (synchronous=" + string(level) + ")"
	if level == sqlite.Normal {
		log.Warn("server: --sync normal: an event acknowledged just before a power loss or OS crash may be lost (a crash of sluice loses nothing)")
	}
	return st, what, nil
}

func runServe(ctx context.Context, cmd *cobra.Command, o serveOptions) error {
	log, err := newLogger(cmd.ErrOrStderr(), o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	keys, err := loadKeys(o.keys, o.keysFile)
	if err != nil {
		return err
	}
	var st store.Store
	var what string
	if o.nats.url != "" {
		if o.pg != "" {
			return errors.New("give only one of --postgres and --nats")
		}
		// One publish request is one Append, one atomic batch of at most
		// DefaultMaxBatch events.
		const most = jetstream.DefaultMaxBatch
		if !cmd.Flags().Changed("max-batch") {
			o.maxBatch = most
		} else if o.maxBatch > most {
			return fmt.Errorf("with --nats, --max-batch must be at most %d (one JetStream atomic batch)", most)
		}
		var stopNATS func()
		st, what, stopNATS, err = openNATS(ctx, o.nats, log)
		if err != nil {
			return err
		}
		defer stopNATS() // after the store closes (deferred below)
	} else {
		st, what, err = openStore(ctx, o.db, o.pg, o.sync, log)
		if err != nil {
			return err
		}
	}
	defer st.Close()
	// A millisecond of coalescing lets each wake-up of thousands of
	// streams carry many events under load.
	h, err := hub.New(st, hub.WithLogger(log), hub.WithCoalesce(time.Millisecond))
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	genai, err := genAIMetrics(h.Bus())
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, server.Config{
		Hub: h, Keys: keys, CORSOrigins: o.cors, AllowedHosts: o.hosts, MaxBodyBytes: o.maxBody, MaxBatch: o.maxBatch,
		MaxRPCBatch: o.maxRPCBatch, MaxResponseBytes: o.maxResp, TimelineCacheBytes: o.timelineCache,
		MaxConnsLocal: o.maxLocal, MaxScan: o.maxScan, MaxSessionScan: o.maxSessionScan,
		BodyTimeout: o.bodyTimeout, MinBodyRate: o.minBodyRate, MaxUnauthConns: o.maxUnauth,
		MaxConnsPerKey: o.maxConns, MaxSubscriptions: o.maxSubs, Heartbeat: o.heartbeat,
		ShutdownTimeout: o.shutdownWait, Logger: log, Collectors: []prometheus.Collector{genai},
	})
	if err != nil {
		return err
	}
	defer srv.Close(context.WithoutCancel(ctx))
	if o.keysFile != "" {
		stopReload := reloadKeysOnHUP(ctx, srv, o, log)
		defer stopReload()
	}
	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	if w := srv.Warning(); w != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "\n!!! WARNING: %s\n\n", w)
		log.Warn("server: no API keys", "detail", w)
	}
	log.Info("server: listening", "url", "http://"+l.Addr().String(), "store", what, "keys", len(keys))
	err = srv.Serve(ctx, l)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	log.Info("server: stopped")
	return err
}
