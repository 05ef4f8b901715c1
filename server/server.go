package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/timeline"
)

// Defaults of Config.
const (
	DefaultAddr             = "127.0.0.1:7420"
	DefaultMaxBodyBytes     = 4 << 20
	DefaultMaxBatch         = 10_000
	DefaultMaxRPCBatch      = 100
	DefaultMaxResponseBytes = 4 << 20
	DefaultMaxConnsPerKey   = 1024
	DefaultMaxSubscriptions = 64
	DefaultHeartbeat        = 15 * time.Second
	DefaultRetry            = 2 * time.Second
	DefaultWriteTimeout     = 30 * time.Second
	DefaultWSQueue          = 256
	DefaultSlowTimeout      = 5 * time.Second
	DefaultShutdownTimeout  = 10 * time.Second
	DefaultBodyTimeout      = 10 * time.Second
	DefaultMinBodyRate      = 4096
	DefaultMaxUnauthConns   = 256
	DefaultMaxScan          = 10_000
	DefaultMaxSessionScan   = 1000
	DefaultMaxConnsLocal    = 8192
	DefaultPageLimit        = 100
	MaxPageLimit            = 1000
)

// Config configures a Server. Only Hub is required; zero values take the
// defaults above. It is a struct, not functional options: the one
// exception to the options style of the other Sluice packages, because the
// CLI's flags map onto its fields one to one.
type Config struct {
	// Hub is the log and live fan-out the server serves. The server does not
	// close it.
	Hub *hub.Hub
	// Keys are the API keys. With none, the server accepts requests only
	// from loopback addresses, with every scope.
	Keys []Key
	// CORSOrigins are the origins browsers may call the API from
	// ("https://app.example.com", or "*" for any). Empty: no CORS headers,
	// and WebSocket connections only from the server's own origin. Without
	// keys, a request with any other Origin is refused (403).
	CORSOrigins []string
	// AllowedHosts are host names (without port) a server without keys
	// answers besides the loopback ones (localhost and loopback
	// addresses), for example the name of a container or an SSH tunnel.
	// Other Host headers get 403: a page reached through DNS rebinding
	// cannot use the API.
	AllowedHosts []string
	// MaxBodyBytes limits a request body (ingest and JSON-RPC); larger
	// bodies get 413.
	MaxBodyBytes int64
	// MaxBatch limits the events of one publish request (POST /v1/events
	// or one events.publish call).
	MaxBatch int
	// MaxRPCBatch limits the calls of one JSON-RPC batch (HTTP or
	// WebSocket); a larger batch is refused whole with -32600.
	MaxRPCBatch int
	// MaxResponseBytes is the byte budget of one response body: a query
	// page (GET or events.query) stops before it would pass it (answering
	// "more" and where to continue; a page holds at least one event), and
	// a JSON-RPC batch answers the calls past it with -32013 without
	// running them.
	MaxResponseBytes int
	// TimelineCacheBytes bounds the approximate bytes of the folded
	// timelines the server keeps (timeline.Cache) for the timeline
	// endpoint, the resume preludes of the agui and aisdk formats and the
	// session summaries; 0 takes timeline.DefaultCacheBytes.
	TimelineCacheBytes int64
	// MaxConnsPerKey limits the streaming connections (SSE and WebSocket)
	// open at once per key (see MaxConnsLocal for the clients of a server
	// without keys); more get 429.
	MaxConnsPerKey int
	// MaxConnsLocal limits the streaming connections open at once by the
	// loopback clients of a server without keys, counted per remote IP
	// address, apart from any key's budget; more get 429.
	MaxConnsLocal int
	// MaxScan bounds the events one query page reads from the log when it
	// filters them (by types, or by a session prefix over every session):
	// a page that read MaxScan events without filling up ends there, with
	// "more" and the cursor of the last event read as next_after.
	MaxScan int
	// MaxSessionScan bounds the sessions one sessions page filtered by
	// event types examines, each with one read of its events that stops at
	// the first match; their stored events may add up to at most MaxScan.
	// A page that reached either bound without filling up ends there,
	// with the cursor of the last session examined as its next cursor (it
	// examines at least one session, whatever its size).
	MaxSessionScan int
	// MaxSubscriptions limits the subscriptions of one WebSocket
	// connection.
	MaxSubscriptions int
	// Heartbeat is how often an idle stream gets a comment (SSE) or a ping
	// (WebSocket).
	Heartbeat time.Duration
	// Retry is the reconnection delay SSE clients are told (retry:).
	Retry time.Duration
	// WriteTimeout bounds each write to a streaming client; a client that
	// does not take a write for this long is disconnected (and resumes).
	WriteTimeout time.Duration
	// WSQueue is the number of messages queued per WebSocket connection.
	WSQueue int
	// SlowTimeout is how long a WebSocket connection's queue may stay
	// full before the client is closed as too slow (it resumes from its
	// last cursor).
	SlowTimeout time.Duration
	// BodyTimeout and MinBodyRate bound the reading of a request body: it
	// must have arrived within BodyTimeout plus one second per MinBodyRate
	// bytes read so far (a body that stalls, or trickles in slower, is
	// answered 408 and its connection closed).
	BodyTimeout time.Duration
	MinBodyRate int
	// MaxUnauthConns limits the connections open at once that have not yet
	// made a request that passed authentication (with keys: a valid key;
	// without: a loopback client). Serve answers more with 503 and closes
	// them; connections that have authenticated do not count.
	MaxUnauthConns int
	// ShutdownTimeout bounds Serve's graceful shutdown.
	ShutdownTimeout time.Duration
	// Handlers are more routes (an http.ServeMux pattern, such as
	// "POST /v1/demo/agui", to its handler), such as the agent endpoints
	// of agui.Handler and aisdk.NewChat. They sit behind the same
	// authentication, host, origin and CORS checks, and need a key with
	// the ingest and read scopes.
	Handlers map[string]http.Handler
	// Logger receives access logs (at Info) and errors. nil: slog.Default().
	Logger *slog.Logger
	// Clock is the clock used to stamp events that arrive without a time
	// (the WithClock of the other packages). nil: time.Now.
	Clock func() time.Time
	// Collectors are more Prometheus collectors to expose on /metrics
	// beside the server's own, such as a telemetry/prom Sink.
	Collectors []prometheus.Collector
}

func (c *Config) defaults() {
	setInt64(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setInt(&c.MaxBatch, DefaultMaxBatch)
	setInt(&c.MaxRPCBatch, DefaultMaxRPCBatch)
	setInt(&c.MaxResponseBytes, DefaultMaxResponseBytes)
	setInt64(&c.TimelineCacheBytes, timeline.DefaultCacheBytes)
	setInt(&c.MaxConnsPerKey, DefaultMaxConnsPerKey)
	setInt(&c.MaxSubscriptions, DefaultMaxSubscriptions)
	setDur(&c.Heartbeat, DefaultHeartbeat)
	setDur(&c.Retry, DefaultRetry)
	setDur(&c.WriteTimeout, DefaultWriteTimeout)
	setInt(&c.WSQueue, DefaultWSQueue)
	setDur(&c.SlowTimeout, DefaultSlowTimeout)
	setDur(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDur(&c.BodyTimeout, DefaultBodyTimeout)
	setInt(&c.MinBodyRate, DefaultMinBodyRate)
	setInt(&c.MaxUnauthConns, DefaultMaxUnauthConns)
	setInt(&c.MaxConnsLocal, DefaultMaxConnsLocal)
	setInt(&c.MaxScan, DefaultMaxScan)
	setInt(&c.MaxSessionScan, DefaultMaxSessionScan)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

func setInt(p *int, d int) {
	if *p <= 0 {
		*p = d
	}
}
func setInt64(p *int64, d int64) {
	if *p <= 0 {
		*p = d
	}
}
func setDur(p *time.Duration, d time.Duration) {
	if *p <= 0 {
		*p = d
	}
}

// Server is Sluice's HTTP API. It is an http.Handler; Serve runs it on a
// listener with graceful shutdown.
type Server struct {
	cfg  Config
	hub  *hub.Hub
	st   store.Store
	tl   *timeline.Cache // folded timelines of st
	keys atomic.Pointer[keyring]
	m    *metrics
	log  *slog.Logger
	h    http.Handler

	draining   atomic.Bool
	streamCtx  context.Context // canceled when draining: streams end
	stopStream context.CancelFunc

	gate *gate

	mu       sync.Mutex
	perKey   map[string]int
	streams  sync.WaitGroup // SSE and WebSocket handlers
	closed   bool
	ws       map[*wsConn]struct{}
	sse      map[*sseConn]struct{}
	anyCORS  bool
	corsOrig map[string]bool
	hosts    map[string]bool // Config.AllowedHosts, lower case
	epoch    string          // the log's epoch, in hex (EpochHeader)
}

// New returns a server over cfg.Hub, after checking that its log can be
// read; call Close when done.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Hub == nil {
		return nil, errors.New("server: Config.Hub is required")
	}
	cfg.defaults()
	kr, err := newKeyring(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	m, err := newMetrics(cfg.Collectors)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{
		cfg: cfg, hub: cfg.Hub, st: cfg.Hub.Store(), m: m, log: cfg.Logger,
		gate: newGate(cfg.MaxUnauthConns), perKey: map[string]int{}, ws: map[*wsConn]struct{}{}, sse: map[*sseConn]struct{}{}, corsOrig: map[string]bool{},
	}
	s.keys.Store(kr)
	s.hosts = map[string]bool{}
	for _, h := range cfg.AllowedHosts {
		s.hosts[strings.ToLower(h)] = true
	}
	for _, o := range cfg.CORSOrigins {
		if o == "*" {
			s.anyCORS = true
		}
		s.corsOrig[strings.TrimRight(o, "/")] = true
	}
	s.streamCtx, s.stopStream = context.WithCancel(context.Background())
	if _, err := s.st.Head(ctx); err != nil {
		return nil, fmt.Errorf("server: reading the log: %w", err)
	}
	s.epoch = fmt.Sprintf("%016x", s.st.Epoch())
	if s.tl, err = timeline.NewCache(s.st, timeline.WithMaxBytes(cfg.TimelineCacheBytes)); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.m.cache(s.tl)
	s.h = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// Drain starts a graceful shutdown of the API: /readyz answers 503, new
// streams are refused with 503, and every open stream is ended after a
// last message that tells its client to reconnect (an SSE "reconnect"
// event with a retry: hint, or WebSocket close code 1012, service
// restart). Requests in flight, such as appends, are not interrupted.
func (s *Server) Drain() {
	s.mu.Lock()
	already := s.draining.Swap(true)
	s.mu.Unlock()
	if !already {
		s.stopStream()
	}
}

// Close drains the server, waits for its streams to end (bounded by ctx)
// It does not close the hub.
func (s *Server) Close(ctx context.Context) error {
	s.Drain()
	done := make(chan struct{})
	go func() {
		s.streams.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("server: streams still open: %w", ctx.Err())
		s.abortWS()
		s.abortSSE()
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return err
}

// Serve serves the API on l until ctx ends, then shuts down gracefully
// within Config.ShutdownTimeout: it stops accepting connections, lets
// requests in flight (appends) finish, tells streaming clients to
// reconnect, and returns. Connections still open at the deadline are
// closed. It does not close the server: call Close afterwards.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ConnContext:       s.gate.connContext,
		ConnState:         s.gate.connState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("server: shutting down", "deadline", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	s.Drain()
	err := hs.Shutdown(sctx) // stops accepting, waits for handlers in flight
	if err == nil {
		err = s.waitStreams(sctx)
	}
	if err != nil {
		s.log.Warn("server: shutdown deadline passed; closing the remaining connections", "err", err)
		hs.Close()
		s.abortWS()
		s.abortSSE()
		s.waitStreams(context.Background())
	}
	<-errc
	return nil
}

func (s *Server) waitStreams(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.streams.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Warning returns the warning to print when the server runs without keys,
// or "" when keys are configured.
func (s *Server) Warning() string {
	if !s.keyless() {
		return ""
	}
	return "NO API KEYS CONFIGURED: the server accepts only loopback clients (127.0.0.1, ::1), each with every scope. Configure keys (--key, SLUICE_KEYS, --keys-file) before exposing it."
}

// acquire counts a streaming connection of p, or refuses it.
func (s *Server) acquire(p principal) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining.Load() {
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "the server is shutting down; reconnect shortly")
	}
	name, limit := p.budget(&s.cfg)
	if s.perKey[name] >= limit {
		if p.key == nil {
			return errorf(http.StatusTooManyRequests, CodeTooMany, "the local clients of %s have %d streaming connections open, the limit", p.remote, limit)
		}
		return errorf(http.StatusTooManyRequests, CodeTooMany, "key %q has %d streaming connections open, the limit", p.key.Name, limit)
	}
	s.perKey[name]++
	s.streams.Add(1) // under mu, so never after Drain
	return nil
}

func (s *Server) release(p principal) {
	s.mu.Lock()
	name, _ := p.budget(&s.cfg)
	if s.perKey[name]--; s.perKey[name] <= 0 {
		delete(s.perKey, name)
	}
	s.mu.Unlock()
	s.streams.Done()
}

// routes builds the handler tree.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	type route struct {
		scope   Scope // "" for public
		handler http.HandlerFunc
	}
	table := map[string]map[string]route{
		"/{$}":                       {"GET": {"", s.home}},
		"/healthz":                   {"GET": {"", s.healthz}},
		"/readyz":                    {"GET": {"", s.readyz}},
		"/metrics":                   {"GET": {ScopeAdmin, s.metricsHandler()}},
		"/v1/events":                 {"POST": {ScopeIngest, s.ingest}, "GET": {ScopeRead, s.queryAll}},
		"/v1/sessions":               {"GET": {ScopeRead, s.sessions}},
		"/v1/sessions/{id}":          {"GET": {ScopeRead, s.session}, "DELETE": {ScopeIngest, s.deleteSession}},
		"/v1/sessions/{id}/events":   {"GET": {ScopeRead, s.sessionEvents}},
		"/v1/sessions/{id}/stream":   {"GET": {ScopeRead, s.sessionStream}},
		"/v1/sessions/{id}/timeline": {"GET": {ScopeRead, s.sessionTimeline}},
		"/v1/stream":                 {"GET": {ScopeRead, s.allStream}},
		"/v1/ws":                     {"GET": {"", s.websocket}},
		"/v1/rpc":                    {"POST": {"", s.rpcHTTP}},
		"/v1/traces":                 {"POST": {ScopeIngest, s.traces}},
	}
	for path, methods := range table {
		allow := make([]string, 0, len(methods)+1)
		for m := range methods {
			allow = append(allow, m)
		}
		allow = append(allow, "OPTIONS")
		allowed := strings.Join(allow, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			rt, ok := methods[r.Method]
			if !ok && r.Method == http.MethodHead {
				rt, ok = methods["GET"]
			}
			if !ok && r.Method == http.MethodOptions {
				// cors answered the preflights of allowed origins.
				if r.Header.Get("Access-Control-Request-Method") != "" {
					writeError(w, errorf(http.StatusForbidden, CodeOriginNotAllowed, "origin %q may not call this API from a browser (see --cors-origin)", r.Header.Get("Origin")))
					return
				}
				w.Header().Set("Allow", allowed)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if !ok {
				w.Header().Set("Allow", allowed)
				writeError(w, errorf(http.StatusMethodNotAllowed, CodeMethod, "%s is not allowed on %s (allowed: %s)", r.Method, path, allowed))
				return
			}
			setRoute(r, path)
			w.Header().Set(EpochHeader, s.epoch)
			if rt.scope != "" {
				p := principalOf(r)
				if !p.allows(rt.scope) {
					writeError(w, errorf(http.StatusForbidden, CodeForbidden, "key %q lacks the %q scope", p.name(), rt.scope))
					return
				}
			}
			rt.handler(w, r)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, CodeNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	for pattern, h := range s.cfg.Handlers {
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := principalOf(r)
			if !p.allows(ScopeIngest) || !p.allows(ScopeRead) {
				writeError(w, errorf(http.StatusForbidden, CodeForbidden, "key %q lacks the ingest and read scopes", p.name()))
				return
			}
			w.Header().Set(EpochHeader, s.epoch)
			h.ServeHTTP(w, r)
		}))
	}
	return s.recoverer(s.accessLog(s.browsers(s.cors(s.authenticate(mux)))))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, errorf(http.StatusServiceUnavailable, CodeUnavailable, "shutting down"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.st.Sessions(ctx, store.SessionQuery{Limit: 1}); err != nil {
		writeError(w, errorf(http.StatusServiceUnavailable, CodeUnavailable, "store: %v", err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}

func (s *Server) metricsHandler() http.HandlerFunc {
	h := promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{})
	return h.ServeHTTP
}

// Request context values.
type ctxKey int

const (
	keyPrincipal ctxKey = iota
	keyInfo
)

// reqInfo is filled in by handlers for the access log.
type reqInfo struct {
	route string
	who   string
}

func setRoute(r *http.Request, route string) {
	if info, ok := r.Context().Value(keyInfo).(*reqInfo); ok {
		info.route = route
	}
}

func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(keyPrincipal).(principal)
	return p
}

// authenticate identifies the caller: a valid key, or (without keys) a
// loopback client. Health checks and the home page are open to everyone.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/" || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		var p principal
		kr := s.keys.Load()
		if len(kr.keys) == 0 {
			if !isLoopback(r) {
				writeError(w, errorf(http.StatusForbidden, CodeForbidden, "this server has no API keys and accepts only loopback clients"))
				return
			}
			p.remote, _, _ = net.SplitHostPort(r.RemoteAddr)
		} else {
			secret := presented(r)
			if secret == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
				writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized, "an API key is required: send Authorization: Bearer KEY"))
				return
			}
			k := kr.find(secret)
			if k == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sluice", error="invalid_token"`)
				writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized, "unknown API key"))
				return
			}
			p.key = k
		}
		if info, ok := r.Context().Value(keyInfo).(*reqInfo); ok {
			info.who = p.name()
		}
		s.gate.authenticated(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyPrincipal, p)))
	})
}

// cors answers preflight requests and adds CORS headers for allowed
// origins.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || len(s.corsOrig) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if !s.anyCORS && !s.corsOrig[origin] {
			next.ServeHTTP(w, r) // no CORS headers: the browser refuses
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID, X-API-Key")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status and size of a response for the access
// log. It unwraps for http.ResponseController and websocket hijacking.
//
// A response that starts while the request's body is not read to its end
// (an error answered before reading it: 401, 415, …) closes the
// connection, so net/http does not wait for the rest of the body first:
// a client that announces a body and stalls gets its answer at once.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	r      *http.Request
	body   *bodyTracker
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if w.r.ProtoMajor == 1 && code != http.StatusSwitchingProtocols && unread(w.r, w.body) {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{route: "other"}
		sw := &statusWriter{ResponseWriter: w, r: r}
		if r.Body != nil && r.Body != http.NoBody {
			sw.body = &bodyTracker{ReadCloser: r.Body}
			r.Body = sw.body
		}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), keyInfo, info)))
		status := sw.status
		if status == 0 {
			status = http.StatusOK
			if r.Header.Get("Upgrade") != "" {
				status = http.StatusSwitchingProtocols
			}
		}
		s.m.requests.WithLabelValues(info.route, fmt.Sprint(status)).Inc()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		s.log.LogAttrs(r.Context(), level, "http",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", info.route),
			slog.Int("status", status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
			slog.String("key", info.who),
		)
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("server: handler panicked", "panic", v, "stack", string(debug.Stack()))
				writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) trackWS(wc *wsConn, add bool) {
	s.mu.Lock()
	if add {
		s.ws[wc] = struct{}{}
	} else {
		delete(s.ws, wc)
	}
	s.mu.Unlock()
}

// abortWS closes every WebSocket connection at once (http.Server.Close
// does not know hijacked connections).
func (s *Server) abortWS() {
	s.mu.Lock()
	for wc := range s.ws {
		wc.c.CloseNow()
	}
	s.mu.Unlock()
}

func (s *Server) trackSSE(c *sseConn, add bool) {
	s.mu.Lock()
	if add {
		s.sse[c] = struct{}{}
	} else {
		delete(s.sse, c)
	}
	s.mu.Unlock()
}

// abortSSE closes every hijacked SSE connection at once (http.Server.Close
// does not know them either).
func (s *Server) abortSSE() {
	s.mu.Lock()
	for c := range s.sse {
		c.conn.Close()
	}
	s.mu.Unlock()
}

// SetKeys replaces the server's API keys (for example after the keys file
// changed); requests already authenticated are not affected. On error the
// keys stay as they were.
func (s *Server) SetKeys(keys []Key) error {
	kr, err := newKeyring(keys)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.keys.Store(kr)
	return nil
}

// keyless reports whether the server has no keys: it then serves loopback
// clients only.
func (s *Server) keyless() bool { return len(s.keys.Load().keys) == 0 }
