package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/jetstream"
)

// natsOptions are serve's flags for the JetStream log.
type natsOptions struct {
	url      string // a NATS URL, or "embedded"
	stream   string
	replicas int
	// The embedded server (--nats embedded).
	listen, dir, name      string
	clusterName, clusterAt string
	routes                 []string
}

// embedded is the value of --nats that runs a NATS server inside sluice.
const embedded = "embedded"

// openNATS opens the JetStream log, first starting the embedded NATS
// server if --nats is "embedded". stop closes the server after the store.
func openNATS(ctx context.Context, o natsOptions, log *slog.Logger) (st store.Store, what string, stop func(), err error) {
	url := o.url
	stop = func() {}
	if url == embedded {
		ns, err := startNATS(o, log)
		if err != nil {
			return nil, "", nil, err
		}
		url = ns.ClientURL()
		stop = func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		}
	}
	js, err := jetstream.Open(ctx, url, jetstream.WithStream(o.stream), jetstream.WithReplicas(o.replicas), jetstream.WithLogger(log))
	if err != nil {
		stop()
		return nil, "", nil, fmt.Errorf("nats: %w", err)
	}
	what = "jetstream " + o.stream + " at " + url
	if o.url == embedded {
		what = "jetstream " + o.stream + " on the embedded NATS server " + url
	}
	return js, what, stop, nil
}

// startNATS starts the embedded NATS server with JetStream: a one-binary
// node, alone or, with --nats-routes, one of a cluster.
func startNATS(o natsOptions, log *slog.Logger) (*natsserver.Server, error) {
	host, port, err := hostPort(o.listen, "--nats-listen")
	if err != nil {
		return nil, err
	}
	opts := &natsserver.Options{
		ServerName: o.name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   o.dir,
		NoSigs:     true,
		NoLog:      true,
	}
	if len(o.routes) > 0 || o.clusterAt != "" {
		if o.clusterAt == "" {
			return nil, errors.New("--nats-routes needs --nats-cluster-listen, the address other nodes reach this one at")
		}
		if o.name == "" {
			return nil, errors.New("a clustered node needs a unique --nats-name")
		}
		ch, cp, err := hostPort(o.clusterAt, "--nats-cluster-listen")
		if err != nil {
			return nil, err
		}
		opts.Cluster = natsserver.ClusterOpts{Name: o.clusterName, Host: ch, Port: cp}
		opts.Routes = natsserver.RoutesFromStr(strings.Join(o.routes, ","))
	}
	if o.dir == "" {
		return nil, errors.New("--nats-dir is required with --nats embedded")
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return nil, fmt.Errorf("--nats-dir: %w", err)
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS server on %s did not start within 30s", o.listen)
	}
	log.Info("nats: embedded server started", "url", ns.ClientURL(), "dir", o.dir, "name", ns.Name(), "cluster", opts.Cluster.Name, "routes", len(opts.Routes))
	return ns, nil
}

// hostPort splits an address flag's value.
func hostPort(addr, flag string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: %w", flag, addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("%s %q: bad port", flag, addr)
	}
	if n == 0 {
		n = -1 // a random port
	}
	return h, n, nil
}
