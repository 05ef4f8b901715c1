// Package store defines Sluice's durable log: the Store interface that every
// log implementation keeps, the query types, the sentinel errors and the
// retention options.
//
// A Store keeps events per session. Append gives each event the next
// sequence number of its session (1, 2, 3, … without gaps) and a store-wide
// position that strictly increases in commit order; Read replays one
// session after a sequence number, ReadAll replays every session after a
// position, and Sessions lists what is stored.
//
// # Exactly once
//
// An event's ID identifies it in its session: Append stores an event whose
// ID is already stored in its session not again, and gives it the sequence
// number it has. A producer that does not know whether an Append went
// through (a timeout, a lost connection, a crash before the
// acknowledgement) can therefore send the same events again, as often as
// it needs: at-least-once delivery plus this de-duplication stores every
// event exactly once, with one sequence number, across calls, within one
// call and across restarts of a durable store. The check is per session
// (the same ID in two sessions is two events) and covers what is stored:
// an event that retention has removed is new again.
//
// Implementations live in sub-packages: store/sqlite (the embedded default),
// store/postgres, store/jetstream (NATS JetStream, for logs shared across
// machines) and store/memory. A store whose log can be shared may also be a
// Watcher, which tells readers of appends by any writer at once. store/storetest is the conformance suite
// every implementation passes.
//
// # Writing a Store
//
// A few exported helpers exist only for implementations, including
// third-party ones, so that every backend refuses and filters input the
// same way: CheckBatch (what Append accepts), CheckSessionID, Fail (an
// iterator that yields one error), MatchTypes and InTimeRange (the query
// filters), and Config (the options every backend shares). Users of a
// Store do not need them.
//
// # Options
//
// Each backend has its own Option type, a func over its unexported
// configuration, so that an option of another backend is a compile error
// (postgres.WithSchema cannot be given to sqlite.Open). The options every
// backend shares have the same names in each: WithRetention, WithClock and
// WithLogger, backed by Config, which checks their values once for all
// backends. This is the style of every Sluice package: a call site names
// only what it changes, options can be added without breaking callers, and
// an invalid value (a nil clock, a negative retention, a nil option) is an
// error wrapping ErrInvalid from the constructor, never silently ignored.
package store

import (
	"context"
	"errors"
	"iter"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/sluice-events/sluice/event"
)

// Sentinel errors, for errors.Is. Errors returned by a Store wrap one of
// them (with %w) and add context.
var (
	// ErrInvalid reports input the store refuses: an event that fails
	// validation, an event without a session, or a malformed query.
	ErrInvalid = errors.New("store: invalid input")
	// ErrClosed reports use of a store after Close.
	ErrClosed = errors.New("store: closed")
	// ErrNotFound reports an unknown session where one is required.
	ErrNotFound = errors.New("store: not found")
	// ErrCorrupt reports a damaged database: a file that is not a database
	// of this store, or stored data that cannot be read back.
	ErrCorrupt = errors.New("store: database is damaged")
)

// Store is the durable log. All methods are safe for concurrent use.
type Store interface {
	// Append logs events. Each event must pass ev.Validate and carry a
	// non-empty Meta.SessionID that is valid UTF-8 without NUL bytes. On success Append sets events[i].Seq to
	// the event's sequence number in its session: the sequence numbers of
	// a session strictly increase without gaps, in commit order, also when
	// many goroutines append to one session at once; the events of one
	// call keep their order and get consecutive numbers in their session. When Append returns nil the events are
	// stored durably (as the implementation documents).
	//
	// An event whose ID is already stored in its session, or comes earlier
	// in the same call, is a duplicate: it is not stored again and its Seq
	// is set to the number the stored event has (see "Exactly once"); the
	// new events of the call get consecutive numbers.
	//
	// A call is all-or-nothing: if any event is invalid, Append returns
	// an error wrapping ErrInvalid and the event's own error that names
	// the event's index and ID, stores nothing, and leaves every Seq as it
	// was. Seq values set by the caller are ignored. An empty batch is a
	// no-op. If ctx ends before the events are stored, Append returns the
	// context's error and stores nothing.
	Append(ctx context.Context, events []event.Event) error

	// Read returns an iterator over the events of one session that match
	// q, in sequence order. An unknown session yields nothing. Errors are
	// yielded once, as the last element, after every event read before
	// the failure; a malformed query yields an error wrapping ErrInvalid.
	//
	// A stored event whose payload no longer decodes as its registered
	// type (say, a custom type whose Go struct changed shape) is yielded
	// with an event.Raw payload of the same Name holding the stored JSON
	// unchanged, rather than failing the read; the store logs this once
	// per type. Only data that is not an event at all fails, with an error
	// wrapping ErrCorrupt that names the event's sequence number and
	// position.
	Read(ctx context.Context, q Query) iter.Seq2[event.Event, error]

	// ReadAll returns an iterator over the events of every session that
	// match q, in position order (which is commit order), each with its
	// store-wide position. A reader that resumes after the last position it
	// saw sees every later-committed event exactly once. Errors and
	// undecodable payloads are handled as in Read.
	ReadAll(ctx context.Context, q AllQuery) iter.Seq2[Entry, error]

	// Head returns the store-wide position of the last appended event, 0
	// for a store that never had one. Every event at a position ≤ Head is
	// committed, so ReadAll after Head yields only events committed later.
	// Positions are never reused: Head does not go down when retention
	// removes events. A follower of the log starts at Head to skip its
	// history.
	Head(ctx context.Context) (uint64, error)

	// Epoch identifies the log: a number drawn at random when the log was
	// created, which never changes. A log created afresh (a deleted file,
	// a new schema, a new memory store) has another, so a reader can tell
	// that a cursor it kept belongs to a log that no longer exists.
	Epoch() uint64

	// Sessions lists the sessions that match q, in q.Order: by ID, or by
	// last activity (newest first; see ByActivity). A session
	// whose events were all removed by retention is still listed (with
	// Count 0), since it still owns its sequence numbers.
	Sessions(ctx context.Context, q SessionQuery) ([]SessionInfo, error)

	// Session returns one session's summary, or an error wrapping
	// ErrNotFound if no event was ever appended to it (ErrInvalid if id
	// fails CheckSessionID).
	Session(ctx context.Context, id string) (SessionInfo, error)

	// Delete removes a session: its events and its summary. Afterwards
	// the session is not listed, Session reports ErrNotFound and Read
	// yields nothing; an Append to the same ID starts a new session at
	// sequence number 1 (positions are never reused, so readers of every
	// session are not confused). It returns an error wrapping ErrNotFound
	// if the session does not exist (ErrInvalid if id fails
	// CheckSessionID). A Delete is atomic: it removes all or nothing.
	Delete(ctx context.Context, id string) error

	// Prune applies the retention policy once, now, and reports how many
	// events it removed. The store also applies it in the background every
	// Retention.Interval; without a policy Prune removes nothing.
	Prune(ctx context.Context) (int64, error)

	// Close stops background work and releases the store. Appends that
	// were accepted finish first; later calls fail with ErrClosed. Close
	// is idempotent.
	Close() error
}

// Query selects events of one session for Read.
type Query struct {
	// Session is the session to read; it is required, and must be valid
	// UTF-8 without NUL bytes (see CheckSessionID).
	Session string
	// After skips events with a sequence number ≤ After; 0 reads from the
	// start. It must be at most math.MaxInt64.
	After uint64
	// Types keeps only events whose type matches; the zero Pattern keeps
	// every type.
	Types event.Pattern
	// Since keeps only events with Time ≥ Since; zero means no bound.
	Since time.Time
	// Until keeps only events with Time < Until; zero means no bound.
	Until time.Time
	// Limit stops after this many events; 0 means no limit.
	Limit int
}

// Check reports a malformed query, wrapping ErrInvalid.
func (q Query) Check() error {
	switch {
	case q.Session == "":
		return invalidf("query without a session")
	case CheckSessionID(q.Session) != nil:
		return CheckSessionID(q.Session)
	case q.Limit < 0:
		return invalidf("negative limit %d", q.Limit)
	case q.After > math.MaxInt64:
		return invalidf("after %d beyond the largest sequence number", q.After)
	}
	return nil
}

// AllQuery selects events of every session for ReadAll.
type AllQuery struct {
	// After skips events with a position ≤ After; 0 reads from the start.
	// It must be at most math.MaxInt64.
	After uint64
	// Types keeps only events whose type matches; the zero Pattern keeps
	// every type.
	Types event.Pattern
	// SessionPrefix keeps only events of sessions whose ID starts with it
	// (byte for byte; it must pass CheckSessionID).
	SessionPrefix string
	// Limit stops after this many events; 0 means no limit.
	Limit int
}

// Check reports a malformed query, wrapping ErrInvalid.
func (q AllQuery) Check() error {
	switch {
	case q.Limit < 0:
		return invalidf("negative limit %d", q.Limit)
	case q.After > math.MaxInt64:
		return invalidf("after %d beyond the largest position", q.After)
	}
	return CheckSessionID(q.SessionPrefix)
}

// Entry is an event with its store-wide position, as ReadAll yields it.
type Entry struct {
	// Pos is the event's position in the whole store: positions strictly
	// increase in commit order and are never reused.
	Pos uint64
	// Event is the stored event, with its Seq set.
	Event event.Event
}

// SessionOrder is the order in which Sessions lists sessions.
type SessionOrder int

const (
	// ByID lists sessions by ID, byte-wise ascending; SessionQuery.After
	// pages through it. It is the zero value.
	ByID SessionOrder = iota
	// ByActivity lists sessions by last activity, newest first: by
	// SessionInfo.LastPos, descending. Positions are unique and strictly
	// increase in commit order, so the order has no ties and follows the
	// real order of appends (not the producers' event times);
	// SessionQuery.Before pages through it. A session that gets a new
	// event moves to the front.
	ByActivity
)

// String returns the order's name: "id" or "activity".
func (o SessionOrder) String() string {
	switch o {
	case ByID:
		return "id"
	case ByActivity:
		return "activity"
	}
	return "SessionOrder(" + strconv.Itoa(int(o)) + ")"
}

// SessionQuery selects sessions for Sessions.
type SessionQuery struct {
	// Prefix keeps only sessions whose ID starts with it (byte for byte;
	// it must pass CheckSessionID).
	Prefix string
	// Order is the listing's order: ByID (the zero value) or ByActivity.
	Order SessionOrder
	// After keeps only sessions whose ID sorts after it (byte-wise), for
	// paging ByID; it must pass CheckSessionID, and is refused with
	// ByActivity.
	After string
	// Before keeps only sessions whose LastPos is less than it, for
	// paging ByActivity: the next page is Before = the LastPos of the last
	// session listed. 0 means no bound. It must be at most math.MaxInt64,
	// and is refused with ByID.
	Before uint64
	// Limit stops after this many sessions; 0 means no limit.
	Limit int
}

// Check reports a malformed query, wrapping ErrInvalid.
func (q SessionQuery) Check() error {
	switch {
	case q.Limit < 0:
		return invalidf("negative limit %d", q.Limit)
	case q.Order != ByID && q.Order != ByActivity:
		return invalidf("unknown session order %d (want ByID or ByActivity)", int(q.Order))
	case q.Order == ByID && q.Before != 0:
		return invalidf("before %d pages the ByActivity order, not ByID (use After)", q.Before)
	case q.Order == ByActivity && q.After != "":
		return invalidf("after %q pages the ByID order, not ByActivity (use Before)", q.After)
	case q.Before > math.MaxInt64:
		return invalidf("before %d beyond the largest position", q.Before)
	}
	if err := CheckSessionID(q.Prefix); err != nil {
		return err
	}
	return CheckSessionID(q.After)
}

// SessionInfo summarizes one session.
type SessionInfo struct {
	// ID is the session ID (event.Meta.SessionID).
	ID string
	// Count is how many of the session's events are stored now.
	Count uint64
	// LastSeq is the sequence number of the session's last appended
	// event; the next one gets LastSeq+1, also after retention removed
	// old events.
	LastSeq uint64
	// LastPos is the store-wide position of the session's last appended
	// event (also after retention removed it): the key of the ByActivity
	// order. No two sessions have the same LastPos.
	LastPos uint64
	// First is the Time of the oldest stored event (the one with the
	// lowest sequence number); zero when Count is 0.
	First time.Time
	// Last is the Time of the last appended event.
	Last time.Time
}

// MatchTypes reports whether t passes a query's type filter p, where the
// zero Pattern passes every type. It is a helper for implementations (see
// "Writing a Store").
func MatchTypes(p event.Pattern, t event.Type) bool {
	return p.IsZero() || p.Match(t)
}

// InTimeRange reports whether t passes a query's Since/Until bounds. It is
// a helper for implementations (see "Writing a Store").
func InTimeRange(t, since, until time.Time) bool {
	return (since.IsZero() || !t.Before(since)) && (until.IsZero() || t.Before(until))
}

// NewEpoch draws an epoch for a new log (see Store.Epoch): a random
// number in [1, 2^63), so that it fits a signed 64-bit database column. It
// is a helper for implementations (see "Writing a Store").
func NewEpoch() uint64 { return 1 + rand.Uint64N(math.MaxInt64-1) }
