// Package jetstream is a store.Store on NATS JetStream: a log that several
// Sluice servers on several machines share, with the same order, the same
// per-session sequence numbers and the same resume as the embedded SQLite
// store.
//
// # Layout
//
// One JetStream stream (default name SLUICE) holds the events. Each event
// is a message on the subject NAME.e.TOKEN, where TOKEN is the session ID
// in unpadded base64url (NATS subjects forbid spaces, dots, wildcards and
// more; base64url maps any ID to a safe token and back unchanged). Its
// headers carry the event's sequence number, time and type, so that
// filters, retention and a writer's look at a session read headers only;
// its body is the event's JSON. The store-wide position (store.Entry.Pos)
// is the message's stream sequence, which JetStream assigns in commit
// order and never reuses. The log's epoch is kept in the stream's
// metadata, written when the stream is created. When retention removes a
// session's last event it first leaves a tombstone on NAME.h.TOKEN (the
// session's last sequence number and time; a subject rollup keeps one per
// session), so that the session keeps its numbers.
//
// # Appends: a compare-and-set on each session's last event
//
// A writer reads the last event of each session in the call (one direct
// get per session), numbers the new events after it, and publishes them:
// the first event of each session carries the header
// Nats-Expected-Last-Subject-Sequence with the stream sequence of the last
// event it read, so the server stores them only if no other writer — on
// any connection, on any machine — appended to that session in between.
// A call of one event is one plain publish; a call of more is one
// JetStream atomic batch (servers 2.12 and later; the store refuses older
// servers when it opens), which the server stores whole or not at all. If
// another writer won the race, nothing of the call is stored: the writer
// reads the sessions again, renumbers its events after the winner's and
// publishes again, after a short randomized backoff, until it wins or ctx
// ends. So a call is all-or-nothing across events and sessions,
// per-session sequence numbers are gapless in commit order, and a retry
// neither reorders (the events of a call keep their order and stay
// consecutive) nor duplicates (a rejected publish stored nothing). If the
// answer to a publish is lost (a timeout, a broken connection), Append
// looks for its publish ID on the last event of the call's first session:
// found, the call succeeded; not found, it returns an error.
//
// Calls of one event run concurrently, each its own publish. A
// one-replica file stream stages every atomic batch in a temporary file
// store that it syncs, one batch at a time, so calls of several events go
// through one writer goroutine that merges the calls made at once into one
// batch (group commit; see BENCHMARKS.md). A call holds at most DefaultMaxBatch events (the NATS
// server's default limit on an atomic batch, max_batch_size) unless
// WithMaxBatch raises it for a server configured with a higher limit; a
// larger call is refused whole with an error wrapping store.ErrInvalid.
//
// # Exactly once
//
// An event whose ID its session already holds is acknowledged with the
// sequence number it has and not stored again (store.Store's promise).
// Each event message carries its ID and the greatest ID of its session so
// far (headers Sluice-Id and Sluice-Max-Id): an event with a greater ID —
// the usual case, since UUIDv7 IDs grow — is new without a look; an older
// one makes the writer read through its session once.
//
// # Durability
//
// Append returns once the server acknowledged the commit: the events are
// in the stream's files (file storage), and with replicas in a majority of
// the cluster's servers. A NATS server writes its files to disk at its
// sync_interval (2 minutes by default), so with one replica an
// acknowledged event survives a crash of the NATS server process but not
// a power loss of its machine; replicas (WithReplicas(3)) or the server's
// sync_interval: always close that gap.
//
// # Retention
//
// Retention by count and by age (store.Retention) is applied by Prune, in
// the background every Retention.Interval, against the store's clock and
// the events' own times (stream limits would measure the server's clock);
// a tombstone keeps a session emptied by retention listed with its last
// sequence number.
//
// # Listing sessions
//
// Sessions lists the subjects of events and tombstones (one stream info
// request, whatever the page), then reads what it lists: by ID, the page's
// sessions only; by activity (store.ByActivity), first the last position
// of every session that matches the prefix, one direct get each (16 at a
// time), since JetStream keeps no per-subject last sequence that a
// request could sort by. A session's last position is the stream sequence
// of its last event message; a tombstone keeps it for a session that
// retention emptied (a tombstone written by an earlier release lacks it,
// and its own stream sequence stands in).
//
// # Faults
//
// Open fails with an error naming the URL when the server cannot be
// reached. While the server is away, every call fails with an error (never
// a silent loss); the connection reconnects by itself and calls succeed
// again once it is back.
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/background"
	"github.com/sluice-events/sluice/store/internal/group"
	"github.com/sluice-events/sluice/store/internal/page"
)

// DefaultMaxBatch is the most events one Append takes without
// WithMaxBatch: the NATS server's default limit on an atomic batch
// (max_batch_size).
const DefaultMaxBatch = 1000

// DefaultStream is the stream name used without WithStream.
const DefaultStream = "SLUICE"

// ErrUnsupported is wrapped by the error from Open for a NATS server that
// cannot hold the log: one without JetStream, or older than 2.12 (which
// brought atomic batch publishing).
var ErrUnsupported = errors.New("jetstream: server unsupported")

// Option configures a JetStream store; pass options to Open. Besides the
// options every backend shares (WithRetention, WithClock, WithLogger) it
// has WithStream and WithReplicas.
type Option func(*config) error

type config struct {
	store.Config
	stream   string
	replicas int
	timeout  time.Duration
	maxBatch int
	natsOpts []nats.Option
}

// WithRetention sets the retention policy (default: keep everything). A
// negative value gives an error wrapping store.ErrInvalid.
func WithRetention(r store.Retention) Option {
	return func(c *config) error { return c.SetRetention(r) }
}

// WithClock sets the clock retention by age measures against (default
// time.Now); tests inject a fake one. It must not be nil.
func WithClock(now func() time.Time) Option {
	return func(c *config) error { return c.SetClock(now) }
}

// WithLogger sets the logger for background errors and connection
// notices (default slog.Default()). It must not be nil.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.SetLogger(l) }
}

// WithStream sets the name of the JetStream stream that holds the log
// (default DefaultStream). Stores opened with the same name on the same
// NATS system share one log. A name must be a valid stream name: letters,
// digits, '-' and '_', at most 64 bytes.
func WithStream(name string) Option {
	return func(c *config) error {
		if name == "" || len(name) > 64 || strings.IndexFunc(name, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) >= 0 {
			return fmt.Errorf("%w: stream name %q: want 1 to 64 letters, digits, '-' or '_'", store.ErrInvalid, name)
		}
		c.stream = name
		return nil
	}
}

// WithReplicas sets how many servers of a NATS cluster keep a copy of a
// stream this store creates (default 1; JetStream allows 1 to 5). It has
// no effect on a stream that exists already.
func WithReplicas(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 5 {
			return fmt.Errorf("%w: %d replicas: want 1 to 5", store.ErrInvalid, n)
		}
		c.replicas = n
		return nil
	}
}

// WithTimeout bounds each request to the server that has no deadline of
// its own (default 10s): opening, background retention, and the answer to
// a commit whose ctx has no deadline.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout %v: want > 0", store.ErrInvalid, d)
		}
		c.timeout = d
		return nil
	}
}

// WithMaxBatch sets the most events one Append may publish (default
// DefaultMaxBatch). Raise it only with
// the server's max_batch_size (in its jetstream block, or
// JetStreamLimits.MaxBatchSize of an embedded server), which the server
// enforces.
func WithMaxBatch(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: max batch %d: want at least 1", store.ErrInvalid, n)
		}
		c.maxBatch = n
		return nil
	}
}

// WithNATSOptions adds options for the NATS connection (credentials, TLS,
// a name), passed to nats.Connect after the store's own.
func WithNATSOptions(opts ...nats.Option) Option {
	return func(c *config) error {
		c.natsOpts = append(c.natsOpts, opts...)
		return nil
	}
}

// Store is a store.Store on a JetStream stream. Create it with Open.
type Store struct {
	cfg    config
	url    string
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	epoch  uint64
	dec    *page.Decoder
	loop   *background.Loop
	writer *group.Writer // publishes the calls of several events

	evSubj   string // NAME.e.
	tombSubj string // NAME.h.

	mu     sync.RWMutex // held for reading by calls, for writing by Close
	closed bool

	watchMu  sync.Mutex
	watchers []chan struct{} // told of reconnections
}

var _ store.Store = (*Store)(nil)

const epochKey = "sluice_epoch"

// Open connects to the NATS server at url (a comma-separated list of
// servers is allowed) and opens the log in its stream, creating the stream
// if it does not exist. An unreachable server gives an error naming url; a
// server without JetStream or older than 2.12 an error wrapping
// ErrUnsupported; a nil or invalid option an error wrapping
// store.ErrInvalid. With a retention policy Open starts a goroutine that
// Close stops.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	c := config{Config: store.DefaultConfig(), stream: DefaultStream, replicas: 1, timeout: 10 * time.Second, maxBatch: DefaultMaxBatch}
	if err := option.Apply(&c, opts, store.ErrInvalid); err != nil {
		return nil, fmt.Errorf("jetstream: open: %w", err)
	}
	log := c.Logger
	var self atomic.Pointer[Store] // for the reconnect handler
	nopts := append([]nats.Option{
		nats.Name("sluice"),
		nats.Timeout(c.timeout),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				return // closed by Close
			}
			log.Warn("jetstream: disconnected from NATS", "url", url, "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("jetstream: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
			if s := self.Load(); s != nil {
				s.reconnected()
			}
		}),
	}, c.natsOpts...)
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: open: cannot reach NATS at %s: %w", url, err)
	}
	s, err := open(ctx, nc, url, c)
	if err != nil {
		nc.Close()
		return nil, err
	}
	self.Store(s)
	return s, nil
}

func open(ctx context.Context, nc *nats.Conn, url string, c config) (*Store, error) {
	var major, minor int
	if _, err := fmt.Sscanf(nc.ConnectedServerVersion(), "%d.%d", &major, &minor); err != nil || major < 2 || major == 2 && minor < 12 {
		return nil, fmt.Errorf("jetstream: open %s: %w: server %s, atomic batch publish needs 2.12 or later", url, ErrUnsupported, nc.ConnectedServerVersion())
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(c.timeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream: open %s: %w", url, err)
	}
	// A cluster that is still forming (its servers starting together, a
	// JetStream leader not yet elected) answers with timeouts for a few
	// seconds: try again, each attempt bounded by the store's timeout,
	// until ctx's deadline or, without one, six of them.
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 6*c.timeout)
		defer cancel()
	}
	var st jetstream.Stream
	for {
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		_, err = js.AccountInfo(actx)
		if err == nil {
			st, err = ensureStream(actx, js, c)
		}
		cancel()
		if err == nil {
			break
		}
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("jetstream: open %s: %w: %w", url, ErrUnsupported, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("jetstream: open %s: stream %s: %w", url, c.stream, err)
		}
		c.Logger.Info("jetstream: not ready yet; trying again", "url", url, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("jetstream: open %s: stream %s: %w", url, c.stream, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
	info := st.CachedInfo()
	epoch, err := strconv.ParseUint(info.Config.Metadata[epochKey], 10, 64)
	if err != nil || epoch == 0 {
		return nil, fmt.Errorf("jetstream: open %s: stream %s exists but is not a Sluice log (no %s in its metadata): %w", url, c.stream, epochKey, store.ErrCorrupt)
	}
	if !info.Config.AllowAtomicPublish || !info.Config.AllowRollup {
		return nil, fmt.Errorf("jetstream: open %s: stream %s does not allow atomic publish and rollups: %w", url, c.stream, store.ErrCorrupt)
	}
	s := &Store{
		cfg: c, url: url, nc: nc, js: js, stream: st, epoch: epoch,
		dec:      page.NewDecoder(c.Logger, "jetstream"),
		evSubj:   c.stream + ".e.",
		tombSubj: c.stream + ".h.",
	}
	s.writer = group.Start(s.commit, c.maxBatch)
	if c.Retention.Enabled() {
		s.loop = background.Start(c.Retention.Interval, c.Logger, "jetstream", s.Prune)
	}
	return s, nil
}

// ensureStream opens the stream, creating it with a new epoch if it does
// not exist. When several nodes create it at once, one wins and the others
// open the winner's (with its epoch).
func ensureStream(ctx context.Context, js jetstream.JetStream, c config) (jetstream.Stream, error) {
	st, err := js.Stream(ctx, c.stream)
	if err == nil {
		return st, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, err
	}
	st, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:               c.stream,
		Description:        "Sluice event log",
		Subjects:           []string{c.stream + ".e.*", c.stream + ".h.*"},
		Storage:            jetstream.FileStorage,
		Replicas:           c.replicas,
		Discard:            jetstream.DiscardOld,
		AllowRollup:        true,
		AllowDirect:        true,
		AllowAtomicPublish: true,
		Metadata:           map[string]string{epochKey: strconv.FormatUint(store.NewEpoch(), 10)},
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return js.Stream(ctx, c.stream)
	}
	return st, err
}

// Epoch implements store.Store: the number drawn when the stream was
// created, kept in its metadata.
func (s *Store) Epoch() uint64 { return s.epoch }

// Stream returns the name of the stream that holds the log.
func (s *Store) Stream() string { return s.cfg.stream }

// Head implements store.Store: the stream's last sequence number, which
// is the position of the last event unless retention wrote a tombstone
// after it (then Head is that tombstone's, which no event will take).
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	last, err := s.lastSeq(ctx)
	if err != nil {
		return 0, fmt.Errorf("jetstream: head: %w", err)
	}
	return last, nil
}

func (s *Store) lastSeq(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// enter checks ctx and that the store is open, and holds s.mu for reading;
// the caller releases it.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

// Close implements store.Store: it stops retention, waits for calls under
// way, and closes the connection. The stream and its events stay.
func (s *Store) Close() error {
	s.writer.Close()
	s.loop.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.nc.Close()
	return nil
}
