// Package extract lifts tagged structured blocks out of streamed model text.
//
// A model can be asked to embed structured data in its answer, between an
// open and a close tag of the form <package:type:version>:
//
//	Here is the plan.
//	<acme:plan:v1>
//	title: Ship it
//	steps: [build, test, release]
//	</acme:plan:v1>
//	Shall I start?
//
// The Sink made by New sits in front of another sluice.Sink. It watches the
// message.text.delta and message.thinking.delta events of every stream,
// hands the body of each block whose tag has a registered Extractor to that
// extractor, and emits typed events: extract.block.started, best-so-far
// extract.block.snapshot events while the block streams, and
// extract.block.completed (with the parsed value as JSON) or
// extract.block.malformed. The next sink receives every other event
// unchanged and the text with the blocks cut out: deltas whose offsets are
// rewritten so that they describe the filtered text, and a
// message.text.completed whose text is the filtered whole.
//
// Tags may be split across deltas at any byte. Text that only looks like a
// tag, and blocks with tags nobody registered, pass through as text.
//
// Snapshots are debounced: a snapshot is taken once at least SnapshotBytes
// new body bytes (and a quarter of the body so far) have arrived, at the
// last newline. The built-in YAML and JSON extractors parse incrementally:
// complete top-level entries are parsed once and merged, so the total work
// for a block stays linear in its size.
//
// The final text: when message.text.completed carries the concatenated
// deltas, possibly followed by text the deltas lacked, the extra text is
// processed like one more delta and the completed event carries the
// filtered concatenation of everything passed on, so deltas and completed
// text agree exactly. When the provider's final text is not an extension
// of its deltas (it was normalized, or a delta was lost), the final text is
// the provider's last word: the completed event carries it with its blocks
// cut out (policies applied, no further block events), and it may then
// differ from the concatenated deltas the next sink saw.
//
// A stream ends with its message.text.completed (or thinking completed), a
// message.block.stopped for its index, a message.stopped or a
// provider.call.completed; it is cut short by stream.interrupted,
// stream.error or provider.call.failed. Either way its state is dropped
// (Stats shows none left), held text is passed on, and an open block is
// malformed (unclosed, interrupted or failed) and handled by the policy. An
// ending event closes every stream whose correlation IDs match its own
// non-empty ones (run, session, conversation, turn, inference, message).
package extract

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
)

// Policy says what happens to a malformed block.
type Policy uint8

const (
	// Report emits extract.block.malformed and drops the block's text.
	Report Policy = iota
	// PassThrough emits extract.block.malformed and passes the block's raw
	// text on as ordinary text.
	PassThrough
	// Drop drops the block silently: no event, no text.
	Drop
)

// Defaults.
const (
	// DefaultMaxBytes is the default capture limit per block.
	DefaultMaxBytes = 1 << 20
	// DefaultSnapshotBytes is the default minimum of new body bytes
	// between snapshots.
	DefaultSnapshotBytes = 256
)

// ErrInvalid is wrapped by the error New returns for an invalid option: a
// malformed or duplicate tag, a nil extractor, clock, ID function or option,
// an unknown policy, a size out of range.
var ErrInvalid = errors.New("extract: invalid option")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Option configures a Sink; pass options to New. Options are functions
// over an unexported configuration, the style of every Sluice package: a
// call site names only what it changes, options can be added without
// breaking callers, and each option checks its value, so that New reports
// an invalid one as an error wrapping ErrInvalid instead of ignoring it.
type Option func(*config) error

// WithExtractor registers ex for blocks tagged tag ("package:type:version").
func WithExtractor(tag string, ex Extractor) Option {
	return func(c *config) error {
		if !ValidTag(tag) {
			return invalidf("tag %q (want package:type:version)", tag)
		}
		if ex == nil {
			return invalidf("nil extractor for %q", tag)
		}
		if _, dup := c.extractors[tag]; dup {
			return invalidf("tag %q registered twice", tag)
		}
		c.extractors[tag] = &registration{tag: tag, closeTag: "</" + tag + ">", ex: ex}
		return nil
	}
}

// WithPolicy sets what happens to malformed blocks (default Report).
func WithPolicy(p Policy) Option {
	return func(c *config) error {
		if p > Drop {
			return invalidf("unknown policy %d", p)
		}
		c.policy = p
		return nil
	}
}

// WithMaxBytes caps the body bytes captured per block (default
// DefaultMaxBytes). A block that outgrows it is malformed (too_large) at
// once; its captured bytes are released and the rest of it is skipped, or
// passed on as text under PassThrough. n must be at least 1.
func WithMaxBytes(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalidf("max bytes %d, want at least 1", n)
		}
		c.maxBytes = n
		return nil
	}
}

// WithSnapshotEvery sets the snapshot debounce: at least n new body bytes
// (and a quarter of the body so far) between snapshots, cut at the last
// newline if atNewline. n = 0 turns snapshots off; n < 0 is invalid. The
// default is DefaultSnapshotBytes at newlines.
func WithSnapshotEvery(n int, atNewline bool) Option {
	return func(c *config) error {
		if n < 0 {
			return invalidf("snapshot every %d bytes, want at least 0", n)
		}
		c.snapBytes, c.snapNewline = n, atNewline
		return nil
	}
}

// WithClock sets the clock that stamps the block events' times (default
// time.Now), for deterministic tests. It must not be nil.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return invalidf("nil clock")
		}
		c.src.Now = now
		return nil
	}
}

// WithIDs sets the function that gives the block events their IDs
// (default event.NewID), for deterministic tests. It must not be nil.
func WithIDs(newID func() uuid.UUID) Option {
	return func(c *config) error {
		if newID == nil {
			return invalidf("nil ID function")
		}
		c.src.NewID = newID
		return nil
	}
}

type registration struct {
	tag, closeTag string
	ex            Extractor
}

type config struct {
	extractors  map[string]*registration
	policy      Policy
	maxBytes    int
	snapBytes   int
	snapNewline bool
	src         event.Source
}

// Sink extracts tagged blocks from the text streams it sees and passes
// everything else on to the next sink. It is safe for concurrent use;
// streams are kept apart by their correlation IDs and content index.
type Sink struct {
	next sluice.Sink
	cfg  config
	seed maphash.Seed
	// active is set when an extractor is registered.
	active bool

	mu      sync.Mutex
	streams map[streamKey]*stream
	totals  struct{ completed, malformed uint64 }
	// last is the stream used last: deltas of one stream come in runs, and
	// finding it here takes no lock.
	last atomic.Pointer[stream]
}

// streamKey identifies one text or thinking block of one message.
type streamKey struct {
	run, session, conversation, turn, inference, message string
	thinking                                             bool
	index                                                int
}

func keyOf(m *event.Meta, thinking bool, index int) streamKey {
	return streamKey{m.RunID, m.SessionID, m.ConversationID, m.TurnID, m.InferenceID, m.MessageID, thinking, index}
}

// is reports whether k is the key of a stream of m's message.
func (k *streamKey) is(m *event.Meta, thinking bool, index int) bool {
	return k.index == index && k.thinking == thinking && k.message == m.MessageID && k.inference == m.InferenceID &&
		k.turn == m.TurnID && k.conversation == m.ConversationID && k.session == m.SessionID && k.run == m.RunID
}

// covers reports whether an ending event with metadata m ends the stream
// with key k: each of m's non-empty correlation IDs matches.
func (k *streamKey) coveredBy(m *event.Meta) bool {
	eq := func(a, b string) bool { return a == "" || a == b }
	return eq(m.RunID, k.run) && eq(m.SessionID, k.session) && eq(m.ConversationID, k.conversation) &&
		eq(m.TurnID, k.turn) && eq(m.InferenceID, k.inference) && eq(m.MessageID, k.message)
}

// stream is the state of one text or thinking block.
type stream struct {
	key  streamKey
	meta event.Meta // from the stream's first event
	mu   sync.Mutex
	sc   *scanner
	// The raw text seen: its length and hash, to tell whether the final
	// text extends it.
	rawLen  int64
	rawHash rawHash
	gone    bool // ended; a late event makes a new stream
	// scratch is the event passed on in place of a delta, reused: the next
	// sink does not keep it (sluice.Sink's contract), and mu is held.
	scratch event.Event
}

// New returns a Sink that extracts the blocks registered with
// WithExtractor and passes everything else on to next. An invalid option,
// such as a malformed tag, gives an error wrapping ErrInvalid.
func New(next sluice.Sink, opts ...Option) (*Sink, error) {
	if next == nil {
		next = sluice.Discard
	}
	s := &Sink{
		next: next,
		cfg: config{
			extractors: map[string]*registration{},
			maxBytes:   DefaultMaxBytes,
			snapBytes:  DefaultSnapshotBytes, snapNewline: true,
		},
		seed:    maphash.MakeSeed(),
		streams: map[streamKey]*stream{},
	}
	if err := option.Apply(&s.cfg, opts, ErrInvalid); err != nil {
		return nil, err
	}
	s.active = len(s.cfg.extractors) > 0
	return s, nil
}

// Stats describes a Sink's state and totals.
type Stats struct {
	// Streams is the number of text and thinking streams with live state.
	Streams int
	// OpenBlocks is the number of blocks being captured.
	OpenBlocks int
	// CapturedBytes is the number of bytes held for open blocks and
	// partial tags.
	CapturedBytes int
	// Completed and Malformed count the blocks extracted and failed so far,
	// over streams that have ended.
	Completed, Malformed uint64
}

// Stats returns the sink's current state and totals.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	list := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		list = append(list, st)
	}
	out := Stats{Streams: len(list), Completed: s.totals.completed, Malformed: s.totals.malformed}
	s.mu.Unlock()
	for _, st := range list {
		st.mu.Lock()
		if st.sc.in {
			out.OpenBlocks++
		}
		out.CapturedBytes += st.sc.captured()
		st.mu.Unlock()
	}
	return out
}

// Enabled implements sluice.Sink: the sink wants what the next sink wants,
// the text and thinking events it watches for blocks if the next sink
// wants the blocks' events, and the stream-ending events, which end the
// blocks still open.
func (s *Sink) Enabled(ctx context.Context, t event.Type) bool {
	if s.next.Enabled(ctx, t) {
		return true
	}
	if len(s.cfg.extractors) == 0 {
		return false
	}
	switch t {
	case event.TypeTextDelta, event.TypeThinkingDelta, event.TypeTextCompleted, event.TypeThinkingCompleted:
		return s.next.Enabled(ctx, event.TypeExtractBlockStarted) || s.next.Enabled(ctx, event.TypeExtractBlockSnapshot) ||
			s.next.Enabled(ctx, event.TypeExtractBlockCompleted) || s.next.Enabled(ctx, event.TypeExtractBlockMalformed)
	case event.TypeStreamInterrupted, event.TypeStreamError, event.TypeProviderCallFailed,
		event.TypeMessageStopped, event.TypeProviderCallCompleted, event.TypeBlockStopped:
		return true
	}
	return false
}

// Publish implements sluice.Sink. A nil ev gives sluice.ErrNilEvent.
func (s *Sink) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return sluice.ErrNilEvent
	}
	if !s.active {
		return s.forward(ctx, ev)
	}
	// Text deltas are most of what a sink sees: test for them first, in a
	// small function.
	if p, ok := ev.Payload.(event.TextDelta); ok {
		return s.delta(ctx, ev, false, p.Index, p.Offset, p.Text)
	}
	return s.publishOther(ctx, ev)
}

func (s *Sink) publishOther(ctx context.Context, ev *event.Event) error {
	switch p := ev.Payload.(type) {
	case event.ThinkingDelta:
		return s.delta(ctx, ev, true, p.Index, p.Offset, p.Text)
	case event.TextCompleted:
		return s.complete(ctx, ev, false, p.Index, p.Text)
	case event.ThinkingCompleted:
		return s.complete(ctx, ev, true, p.Index, p.Text)
	case event.StreamInterrupted:
		err := s.endAll(ctx, ev, ReasonInterrupted, func(*streamKey) bool { return true })
		if p.Text != "" {
			if t := filter(&s.cfg, p.Text, ReasonInterrupted, nil); t != p.Text {
				p.Text = t
				cp := *ev
				cp.Payload = p
				ev = &cp
			}
		}
		return errors.Join(err, s.forward(ctx, ev))
	case event.StreamError, event.ProviderCallFailed:
		return errors.Join(s.endAll(ctx, ev, ReasonFailed, func(*streamKey) bool { return true }), s.forward(ctx, ev))
	case event.MessageStopped, event.ProviderCallCompleted:
		return errors.Join(s.endAll(ctx, ev, ReasonUnclosed, func(*streamKey) bool { return true }), s.forward(ctx, ev))
	case event.BlockStopped:
		return errors.Join(s.endAll(ctx, ev, ReasonUnclosed, func(k *streamKey) bool {
			return k.index == p.Index && (p.Kind == "" || k.thinking == (p.Kind == "thinking"))
		}), s.forward(ctx, ev))
	}
	return s.forward(ctx, ev)
}

func (s *Sink) forward(ctx context.Context, ev *event.Event) error {
	if !s.next.Enabled(ctx, ev.Type) {
		return nil
	}
	return s.next.Publish(ctx, ev)
}

// lookup returns the live stream for k, making one if create. The stream
// may end before the caller locks it: callers check gone.
func (s *Sink) lookup(k streamKey, meta *event.Meta, create bool) *stream {
	if st := s.last.Load(); st != nil && st.key == k {
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[k]
	if st == nil && create {
		st = &stream{key: k, meta: *meta, sc: newScanner(&s.cfg, k.thinking, k.index)}
		st.rawHash.h.SetSeed(s.seed)
		s.streams[k] = st
	}
	if st != nil {
		s.last.Store(st)
	}
	return st
}

// rawHash hashes a stream's raw text as it arrives, for telling whether
// the final text extends it. maphash.Hash spends more per call than
// hashing a 20-byte delta takes, so small pieces are gathered here and
// handed over a few hundred bytes at a time; the sum is the same.
type rawHash struct {
	h   maphash.Hash
	n   int
	buf [512]byte
}

func (r *rawHash) WriteString(s string) {
	if len(s) <= len(r.buf)-r.n {
		r.n += copy(r.buf[r.n:], s)
		return
	}
	r.h.Write(r.buf[:r.n])
	r.n = 0
	if len(s) >= len(r.buf) {
		r.h.WriteString(s)
		return
	}
	r.n = copy(r.buf[:], s)
}

func (r *rawHash) Sum64() uint64 {
	r.h.Write(r.buf[:r.n])
	r.n = 0
	return r.h.Sum64()
}

// remove drops st from the live streams and adds its totals.
func (s *Sink) remove(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams[st.key] == st {
		delete(s.streams, st.key)
	}
	s.last.CompareAndSwap(st, nil)
	s.totals.completed += st.sc.completed
	s.totals.malformed += st.sc.malformed
}

// delta handles one text or thinking delta at the given offset.
//
// This is the hot path, once per delta: the stream is usually the one used
// last (no map lookup, no lock besides the stream's own), and a delta with
// no '<' outside a block is all text and skips the scanner's output list.
func (s *Sink) delta(ctx context.Context, ev *event.Event, thinking bool, index int, offset int64, text string) error {
	for {
		st := s.last.Load()
		if st == nil || !st.key.is(&ev.Meta, thinking, index) {
			st = s.lookup(keyOf(&ev.Meta, thinking, index), &ev.Meta, true)
		}
		st.mu.Lock()
		if st.gone { // ended between lookup and lock
			st.mu.Unlock()
			continue
		}
		st.rawLen += int64(len(text))
		st.rawHash.WriteString(text)
		sc := st.sc
		var err error
		// take always leaves the scanner with no output held, so plain text
		// outside a block is exactly what feed would pass on.
		if len(text) > 0 && !sc.in && len(sc.pending) == 0 && strings.IndexByte(text, '<') < 0 {
			at := sc.outLen
			sc.outLen += int64(len(text))
			sc.raw += int64(len(text))
			if offset == at && at == st.rawLen-int64(len(text)) {
				err = s.forward(ctx, ev) // unchanged
			} else {
				err = s.rewrite(ctx, st, ev, at, text)
			}
		} else {
			before := sc.outLen
			sc.feed(text)
			err = s.publish(ctx, st, sc.take(), before, ev, text, true)
		}
		st.mu.Unlock()
		return err
	}
}

// rewrite passes on text, at filtered offset at, in place of the delta src:
// a copy of src with a new payload. st.mu is held.
func (s *Sink) rewrite(ctx context.Context, st *stream, src *event.Event, at int64, text string) error {
	typ := event.TypeTextDelta
	if st.key.thinking {
		typ = event.TypeThinkingDelta
	}
	if !s.next.Enabled(ctx, typ) {
		return nil
	}
	// Boxing the payload allocates a copy of it, once per rewritten delta:
	// the one allocation of the pass-through path (see BENCHMARKS.md).
	var p event.Payload
	if st.key.thinking {
		p = event.ThinkingDelta{Index: st.key.index, Offset: at, Text: text}
	} else {
		p = event.TextDelta{Index: st.key.index, Offset: at, Text: text}
	}
	st.scratch = *src
	st.scratch.Type, st.scratch.Payload = typ, p
	return s.next.Publish(ctx, &st.scratch)
}

// publish passes a scanner's output on: text as deltas, block events as
// new events with the stream's metadata. src, if not nil, is the delta the
// output came from, and input its text: the first text piece replaces src
// (keeping its ID), and src passes on unchanged when nothing was cut. Text
// always counts in the filtered whole; it is passed on as deltas only if
// asDelta.
func (s *Sink) publish(ctx context.Context, st *stream, items []item, offset int64, src *event.Event, input string, asDelta bool) error {
	var errs []error
	typ := event.TypeTextDelta
	if st.key.thinking {
		typ = event.TypeThinkingDelta
	}
	for _, it := range items {
		if it.p != nil {
			if !s.next.Enabled(ctx, it.p.EventType()) {
				continue
			}
			out := s.cfg.src.New(it.p, st.meta)
			if err := s.next.Publish(ctx, &out); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		at := offset
		offset += int64(len(it.text))
		if !asDelta {
			continue
		}
		var err error
		switch {
		case src != nil:
			if it.text == input && at == st.rawLen-int64(len(input)) && deltaOffset(src) == at {
				err = s.forward(ctx, src) // unchanged
			} else {
				err = s.rewrite(ctx, st, src, at, it.text)
			}
		case !s.next.Enabled(ctx, typ):
		default:
			var p event.Payload
			if st.key.thinking {
				p = event.ThinkingDelta{Index: st.key.index, Offset: at, Text: it.text}
			} else {
				p = event.TextDelta{Index: st.key.index, Offset: at, Text: it.text}
			}
			out := s.cfg.src.New(p, st.meta)
			err = s.next.Publish(ctx, &out)
		}
		src = nil // later pieces are new events
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func deltaOffset(ev *event.Event) int64 {
	switch p := ev.Payload.(type) {
	case event.TextDelta:
		return p.Offset
	case event.ThinkingDelta:
		return p.Offset
	}
	return -1
}

// forwardPayload passes on a copy of ev carrying p.
func (s *Sink) forwardPayload(ctx context.Context, ev *event.Event, p event.Payload) error {
	if !s.next.Enabled(ctx, p.EventType()) {
		return nil
	}
	cp := *ev
	cp.Type, cp.Payload = p.EventType(), p
	return s.next.Publish(ctx, &cp)
}

// complete handles a text or thinking completed event: it finishes the
// stream and passes on the filtered whole.
func (s *Sink) complete(ctx context.Context, ev *event.Event, thinking bool, index int, final string) error {
	k := keyOf(&ev.Meta, thinking, index)
	st := s.lookup(k, &ev.Meta, false)
	if st == nil {
		if strings.IndexByte(final, '<') < 0 {
			return s.forward(ctx, ev)
		}
		st = s.lookup(k, &ev.Meta, true)
	}
	st.mu.Lock()
	if st.gone { // ended meanwhile: start over
		st.mu.Unlock()
		return s.complete(ctx, ev, thinking, index, final)
	}
	var errs []error
	var text string
	extends := int64(len(final)) >= st.rawLen && maphash.String(s.seed, final[:st.rawLen]) == st.rawHash.Sum64()
	if extends {
		tail := final[st.rawLen:]
		before := st.sc.outLen
		hadDeltas := st.rawLen > 0
		st.rawLen += int64(len(tail))
		st.rawHash.WriteString(tail)
		st.sc.feed(tail)
		st.sc.end(ReasonUnclosed)
		errs = append(errs, s.publish(ctx, st, st.sc.take(), before, nil, "", hadDeltas))
		// The same text through a fresh scanner, with the same parse
		// outcomes, gives what was passed on: splitting does not matter.
		text = filter(&s.cfg, final, ReasonUnclosed, st.sc.failed)
	} else {
		before := st.sc.outLen
		st.sc.end(ReasonUnclosed)
		errs = append(errs, s.publish(ctx, st, st.sc.take(), before, nil, "", true))
		text = filter(&s.cfg, final, ReasonUnclosed, nil)
	}
	st.gone = true
	st.scratch = event.Event{}
	st.mu.Unlock()
	s.remove(st)

	if text == final {
		errs = append(errs, s.forward(ctx, ev))
	} else {
		var p event.Payload
		switch c := ev.Payload.(type) {
		case event.TextCompleted:
			c.Text = text
			p = c
		case event.ThinkingCompleted:
			c.Text = text
			p = c
		}
		errs = append(errs, s.forwardPayload(ctx, ev, p))
	}
	return errors.Join(errs...)
}

// endAll ends the streams that ev covers and that match, for reason.
func (s *Sink) endAll(ctx context.Context, ev *event.Event, reason string, match func(*streamKey) bool) error {
	s.mu.Lock()
	var ended []*stream
	for k, st := range s.streams {
		if k.coveredBy(&ev.Meta) && match(&k) {
			ended = append(ended, st)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, st := range ended {
		st.mu.Lock()
		if !st.gone {
			before := st.sc.outLen
			st.sc.end(reason)
			errs = append(errs, s.publish(ctx, st, st.sc.take(), before, nil, "", true))
			st.gone = true
			st.scratch = event.Event{}
		}
		st.mu.Unlock()
		s.remove(st)
	}
	return errors.Join(errs...)
}
