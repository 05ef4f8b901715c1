package jetstream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/group"
)

// Headers of an event message.
const (
	hdrSeq  = "Sluice-Seq"
	hdrTime = "Sluice-Time" // Unix nanoseconds
	hdrType = "Sluice-Type"
	hdrID   = "Sluice-Id"     // the event's ID, for exactly-once appends
	hdrMax  = "Sluice-Max-Id" // the greatest event ID in the session so far
	// hdrBatch names the publish that wrote the event, on the last event
	// of one session per publish: a writer whose answer was lost looks
	// for it.
	hdrBatch = "Sluice-Batch"
)

// token maps a session ID to a subject token: unpadded base64url, whose
// alphabet (letters, digits, '-', '_') NATS allows in any token.
func token(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// sessionOf returns the session ID of an event or tombstone subject
// (prefix followed by the token).
func sessionOf(subject, prefix string) (string, bool) {
	if len(subject) <= len(prefix) || subject[:len(prefix)] != prefix {
		return "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(subject[len(prefix):]) // one token per ID
	if err != nil {
		return "", false
	}
	return string(b), true
}

// tombstone is the body of a session's tombstone: what retention leaves
// of a session whose events it removed, so that the session keeps its
// sequence numbers.
type tombstone struct {
	Seq  uint64 `json:"seq"`  // the session's last sequence number
	Last int64  `json:"last"` // Time of its last event, Unix nanoseconds
	// Pos is the stream sequence of the session's last event (its
	// store.SessionInfo.LastPos); tombstones written before it existed
	// lack it, and the tombstone's own sequence stands in.
	Pos uint64 `json:"pos,omitempty"`
}

// sessState is what a writer read of a session: its last sequence number
// and event time, and the stream sequence of its last event message (0 if
// none), which the next append expects.
type sessState struct {
	seq    uint64
	last   int64
	pos    uint64 // the session's last position (store.SessionInfo.LastPos)
	expect uint64
	batch  string // Sluice-Batch of the last event
	maxID  string // Sluice-Max-Id of the last event ("" if unknown)
	found  bool
}

// readState reads a session's last event and its tombstone (left by
// retention that removed its last event); the larger sequence number wins.
// A session that has neither is new (or deleted).
func (s *Store) readState(ctx context.Context, id string) (sessState, error) {
	var st sessState
	m, err := s.stream.GetLastMsgForSubject(ctx, s.evSubj+token(id))
	switch {
	case err == nil:
		seq, err1 := strconv.ParseUint(m.Header.Get(hdrSeq), 10, 64)
		ns, err2 := strconv.ParseInt(m.Header.Get(hdrTime), 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return sessState{}, fmt.Errorf("session %q: position %d: headers: %w: %w", id, m.Sequence, store.ErrCorrupt, err)
		}
		st = sessState{seq: seq, last: ns, pos: m.Sequence, expect: m.Sequence, batch: m.Header.Get(hdrBatch), maxID: m.Header.Get(hdrMax), found: true}
	case !errors.Is(err, jetstream.ErrMsgNotFound):
		return sessState{}, err
	}
	m, err = s.stream.GetLastMsgForSubject(ctx, s.tombSubj+token(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return st, nil
	}
	if err != nil {
		return sessState{}, err
	}
	var t tombstone
	if err := json.Unmarshal(m.Data, &t); err != nil {
		return sessState{}, fmt.Errorf("session %q: tombstone at %d: %w: %w", id, m.Sequence, store.ErrCorrupt, err)
	}
	if !st.found || t.Seq > st.seq {
		st.seq, st.last, st.pos, st.found = t.Seq, t.Last, t.Pos, true
		if st.pos == 0 {
			st.pos = m.Sequence
		}
	}
	return st, nil
}

// Append implements store.Store. When it returns nil the server has
// stored the events in the stream (see "Durability" in the package
// documentation). Calls of one event run concurrently, each its own
// publish; calls of more share atomic batches. See the package
// documentation for how writers are ordered.
func (s *Store) Append(ctx context.Context, events []event.Event) error {
	_, err := s.AppendDups(ctx, events)
	return err
}

// AppendDups implements store.DupReporter.
func (s *Store) AppendDups(ctx context.Context, events []event.Event) ([]int, error) {
	if len(events) > s.cfg.maxBatch {
		if err := store.CheckBatch(events); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %d events, more than the %d of one atomic batch (see WithMaxBatch)", store.ErrInvalid, len(events), s.cfg.maxBatch)
	}
	r := &group.Request{Events: events}
	if err := r.Encode(); err != nil { // checks the batch too
		return nil, err
	}
	defer r.Release()
	if len(events) == 0 {
		return nil, nil
	}
	if len(events) > 1 {
		// An atomic batch costs about the same whatever its size, and the
		// server stages them one at a time: calls of several events made
		// at once share one (group commit).
		if err := s.writer.Do(ctx, r); err != nil {
			if errors.Is(err, store.ErrClosed) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil, err
			}
			return nil, fmt.Errorf("jetstream: append: %w", s.closedOr(err))
		}
		return r.Dups, nil
	}
	sessions, datas := []string{events[0].Meta.SessionID}, r.Data
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	seqs, dups, err := s.appendRetrying(ctx, events, datas, sessions)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, err // given up before the commit: nothing stored
		}
		return nil, fmt.Errorf("jetstream: append: %w", s.closedOr(err))
	}
	events[0].Seq = seqs[0]
	return dups, nil
}

// appendRetrying publishes the events, reading the sessions again and
// renumbering after each conflict with another writer, after a short
// randomized backoff, until it succeeds or ctx ends.
func (s *Store) appendRetrying(ctx context.Context, events []event.Event, datas [][]byte, sessions []string) ([]uint64, []int, error) {
	backoff := time.Millisecond
	for {
		seqs, dups, err := s.tryAppend(ctx, events, datas, sessions)
		if !errors.Is(err, errConflict) {
			return seqs, dups, err
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 20*time.Millisecond)
	}
}

// commit runs on the writer goroutine: it publishes the events of reqs as
// one atomic batch, retrying after conflicts until the store's timeout
// passes.
func (s *Store) commit(reqs []*group.Request) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
	defer cancel()
	var events []event.Event
	var datas [][]byte
	for _, r := range reqs {
		events = append(events, r.Events...)
		datas = append(datas, r.Data...)
	}
	var sessions []string
	seen := make(map[string]bool)
	for i := range events {
		if id := events[i].Meta.SessionID; !seen[id] {
			seen[id] = true
			sessions = append(sessions, id)
		}
	}
	seqs, dups, err := s.appendRetrying(ctx, events, datas, sessions)
	if err != nil {
		return err
	}
	start := 0 // the index in events of the request's first event
	for _, r := range reqs {
		r.Seqs, seqs = seqs[:len(r.Events)], seqs[len(r.Events):]
		for len(dups) > 0 && dups[0] < start+len(r.Events) {
			r.Duplicate(dups[0]-start, r.Seqs[dups[0]-start])
			dups = dups[1:]
		}
		start += len(r.Events)
	}
	return nil
}

// errConflict reports a batch rejected because another writer appended to
// one of its sessions since its heads were read.
var errConflict = errors.New("jetstream: concurrent append")

// tryAppend publishes the events once and returns their sequence numbers
// and the indexes of the duplicates, or errConflict.
func (s *Store) tryAppend(ctx context.Context, events []event.Event, datas [][]byte, sessions []string) ([]uint64, []int, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	states := make(map[string]*sessState, len(sessions))
	for _, id := range sessions {
		st, err := s.readState(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		states[id] = &st
	}
	// Exactly once: an event whose ID the session already holds gets its
	// sequence number and is not published. Each event message carries
	// the greatest ID of its session so far, so an ID above it is new
	// without looking (UUIDv7 IDs grow); only an older one (a retry, or
	// an ID made elsewhere) makes the store look through the session.
	seqs := make([]uint64, len(events))
	var dups []int
	lastOf := make(map[string]int, len(sessions)) // index of each session's last new event
	var msgs []*nats.Msg
	var first string // the first session with new events
	inBatch := make(map[string]uint64)
	batch := nuid.Next()
	for i := range events {
		ev := &events[i]
		id := ev.Meta.SessionID
		st := states[id]
		evID := ev.ID.String()
		if seq, ok := inBatch[id+"\x00"+evID]; ok {
			seqs[i], dups = seq, append(dups, i)
			continue
		}
		if st.found && (st.maxID == "" || evID <= st.maxID) {
			seq, ok, err := s.storedSeq(ctx, id, evID)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				seqs[i], dups = seq, append(dups, i)
				continue
			}
		}
		m := nats.NewMsg(s.evSubj + token(id))
		m.Data = datas[i]
		if _, seen := lastOf[id]; !seen {
			// The compare-and-set: the server stores the batch only if
			// the session's last event is still the one read above.
			m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(st.expect, 10))
		}
		if first == "" {
			first = id
		}
		lastOf[id] = len(msgs)
		st.seq++
		seqs[i] = st.seq
		inBatch[id+"\x00"+evID] = st.seq
		m.Header.Set(hdrSeq, strconv.FormatUint(st.seq, 10))
		m.Header.Set(hdrTime, strconv.FormatInt(ev.Time.UnixNano(), 10))
		m.Header.Set(hdrType, string(ev.Type))
		m.Header.Set(hdrID, evID)
		st.maxID = max(st.maxID, evID)
		m.Header.Set(hdrMax, st.maxID)
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return seqs, dups, nil // every event was stored already
	}
	msgs[lastOf[first]].Header.Set(hdrBatch, batch)
	if err := s.publish(ctx, batch, msgs); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, nil, err // given up before the commit: nothing stored
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) {
			if apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant {
				return nil, nil, errConflict
			}
			return nil, nil, err
		}
		// The answer was lost: the events may have been stored. The last
		// event of the first session tells.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.timeout)
		defer cancel()
		st, serr := s.readState(cctx, first)
		if serr == nil && st.batch == batch {
			return seqs, dups, nil
		}
		return nil, nil, fmt.Errorf("%w (the events were not stored, or were stored by a commit whose answer was lost and could not be checked: %v)", err, serr)
	}
	return seqs, dups, nil
}

// storedSeq looks through a session for an event with ID id, and returns
// its sequence number.
func (s *Store) storedSeq(ctx context.Context, session, id string) (uint64, bool, error) {
	for ev, err := range s.Read(ctx, store.Query{Session: session}) {
		if err != nil {
			return 0, false, err
		}
		if ev.ID.String() == id {
			return ev.Seq, true, nil
		}
	}
	return 0, false, nil
}

// pubAck is the server's answer to a publish or to the commit of an
// atomic batch.
type pubAck struct {
	Stream string              `json:"stream"`
	Seq    uint64              `json:"seq"`
	Batch  string              `json:"batch"`
	Count  int                 `json:"count"`
	Error  *jetstream.APIError `json:"error"`
}

// publish stores msgs: one message as a plain JetStream publish, more as
// one atomic batch: every message but the last without waiting, the last
// with the commit header as a request whose answer reports the outcome of
// the whole batch. One connection keeps the messages in order.
func (s *Store) publish(ctx context.Context, id string, msgs []*nats.Msg) error {
	if len(msgs) == 1 {
		return s.request(ctx, msgs[0], 1)
	}
	for i, m := range msgs {
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(msgs)-1 {
			if err := s.nc.PublishMsg(m); err != nil {
				return err
			}
		}
	}
	commit := msgs[len(msgs)-1]
	commit.Header.Set("Nats-Batch-Commit", "1")
	return s.request(ctx, commit, len(msgs))
}

// request sends m, the last (or only) message of a publish, and reads the
// answer, which must report count messages stored (a lone message is
// counted as 1).
func (s *Store) request(ctx context.Context, m *nats.Msg, count int) error {
	// The last moment to give up: without a commit the server drops the
	// batch. Once the commit is sent, the answer is awaited whatever ctx
	// says, so that a stored batch is reported as stored.
	if err := ctx.Err(); err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.timeout)
	defer cancel()
	resp, err := s.nc.RequestMsgWithContext(actx, m)
	if err != nil {
		return err
	}
	var ack pubAck
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return fmt.Errorf("commit answer %q: %w", resp.Data, err)
	}
	if ack.Error != nil {
		return ack.Error
	}
	if count > 1 && ack.Count != count {
		return fmt.Errorf("commit stored %d messages of %d", ack.Count, count)
	}
	return nil
}

// Delete implements store.Store. It removes the session's events, then its
// tombstone, each up to the last one it read, so that an Append racing with
// it is either removed with the session or kept whole after it. Should the
// process stop between the two steps, the session stays listed with Count
// 0 until Delete is called again.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := store.CheckSessionID(id); err != nil {
		return err
	}
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	found := false
	for _, subj := range []string{s.evSubj + token(id), s.tombSubj + token(id)} {
		last, err := s.stream.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("jetstream: delete %q: %w", id, err)
		}
		found = true
		if err := s.stream.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(last.Sequence+1)); err != nil {
			return fmt.Errorf("jetstream: delete %q: %w", id, err)
		}
	}
	if !found {
		return fmt.Errorf("jetstream: delete %q: %w", id, store.ErrNotFound)
	}
	return nil
}
