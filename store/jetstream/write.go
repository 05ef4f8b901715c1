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
)

// token maps a session ID to a subject token: unpadded base64url, whose
// alphabet (letters, digits, '-', '_') NATS allows in any token.
func token(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// sessionOf returns the session ID of an event or head subject (prefix
// followed by the token).
func sessionOf(subject, prefix string) (string, bool) {
	if len(subject) <= len(prefix) || subject[:len(prefix)] != prefix {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(subject[len(prefix):])
	if err != nil {
		return "", false
	}
	return string(b), true
}

// head is the body of a session's head message.
type head struct {
	Seq   uint64 `json:"seq"`   // the session's last sequence number
	Last  int64  `json:"last"`  // Time of its last event, Unix nanoseconds
	Batch string `json:"batch"` // the ID of the batch that wrote it
	Off   int    `json:"off"`   // how far after the batch's last event it is
}

// headState is what a writer read of a session's head.
type headState struct {
	head
	sseq uint64 // stream sequence of the head message, 0 if none
}

// readHead returns a session's head; a session without one has the zero
// headState.
func (s *Store) readHead(ctx context.Context, id string) (headState, error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, s.headSubj+token(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return headState{}, nil
	}
	if err != nil {
		return headState{}, err
	}
	var h headState
	if err := json.Unmarshal(m.Data, &h.head); err != nil {
		return headState{}, fmt.Errorf("session %q: head at %d: %w: %w", id, m.Sequence, store.ErrCorrupt, err)
	}
	h.sseq = m.Sequence
	return h, nil
}

// Append implements store.Store. When it returns nil the server has
// stored the events in the stream (see "Durability" in the package
// documentation). Concurrent calls on one
// Store are grouped into one atomic batch (group commit); see the package
// documentation for how writers on several connections are ordered.
func (s *Store) Append(ctx context.Context, events []event.Event) error {
	if err := store.CheckBatch(events); err != nil {
		return err
	}
	if n := len(events) + sessionCount(events); n > s.cfg.maxBatch {
		return fmt.Errorf("%w: %d events need %d messages (one per event and one per session), more than the %d of one atomic batch (see WithMaxBatch)", store.ErrInvalid, len(events), n, s.cfg.maxBatch)
	}
	if err := s.writer.Append(ctx, events, &s.closing); err != nil {
		if errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrInvalid) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return err
		}
		return fmt.Errorf("jetstream: append: %w", err)
	}
	return nil
}

func sessionCount(events []event.Event) int {
	seen := make(map[string]struct{})
	for i := range events {
		seen[events[i].Meta.SessionID] = struct{}{}
	}
	return len(seen)
}

// commit runs on the writer goroutine: it publishes the events of reqs as
// one atomic batch, reading the heads again and retrying after a conflict
// with another writer, with a short randomized backoff, until it succeeds
// or the store's timeout passes.
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
	backoff := time.Millisecond
	for {
		seqs, err := s.tryAppend(ctx, events, datas, sessions)
		if err == nil {
			for _, r := range reqs {
				r.Seqs, seqs = seqs[:len(r.Events)], seqs[len(r.Events):]
			}
			return nil
		}
		if !errors.Is(err, errConflict) {
			return err
		}
		// Another writer appended to one of our sessions first: wait a
		// little, read the heads again and renumber.
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: still conflicting after %v", errConflict, s.cfg.timeout)
		case <-t.C:
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// errConflict reports a batch rejected because another writer appended to
// one of its sessions since its heads were read.
var errConflict = errors.New("jetstream: concurrent append")

// tryAppend publishes the batch once and returns the sequence numbers of
// the events, or errConflict.
func (s *Store) tryAppend(ctx context.Context, events []event.Event, datas [][]byte, sessions []string) ([]uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	heads := make(map[string]*headState, len(sessions))
	for _, id := range sessions {
		h, err := s.readHead(ctx, id)
		if err != nil {
			return nil, err
		}
		heads[id] = &h
	}
	seqs := make([]uint64, len(events))
	next := make(map[string]uint64, len(sessions))
	last := make(map[string]int64, len(sessions))
	for i := range events {
		id := events[i].Meta.SessionID
		if _, ok := next[id]; !ok {
			next[id] = heads[id].Seq
		}
		next[id]++
		seqs[i] = next[id]
		last[id] = events[i].Time.UnixNano()
	}
	batch := nuid.Next()
	msgs := make([]*nats.Msg, 0, len(sessions)+len(events))
	for i := range events {
		ev := &events[i]
		m := nats.NewMsg(s.evSubj + token(ev.Meta.SessionID))
		m.Data = datas[i]
		m.Header.Set(hdrSeq, strconv.FormatUint(seqs[i], 10))
		m.Header.Set(hdrTime, strconv.FormatInt(ev.Time.UnixNano(), 10))
		m.Header.Set(hdrType, string(ev.Type))
		msgs = append(msgs, m)
	}
	for j, id := range sessions {
		body, _ := json.Marshal(head{Seq: next[id], Last: last[id], Batch: batch, Off: j + 1})
		m := nats.NewMsg(s.headSubj + token(id))
		m.Data = body
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(heads[id].sseq, 10))
		m.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
		msgs = append(msgs, m)
	}
	if err := s.publishBatch(ctx, batch, msgs); err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) {
			if apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant {
				return nil, errConflict
			}
			return nil, err
		}
		// The answer was lost: the batch may have been committed. Its
		// first head tells.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.timeout)
		defer cancel()
		h, herr := s.readHead(cctx, sessions[0])
		if herr == nil && h.Batch == batch {
			return seqs, nil
		}
		return nil, fmt.Errorf("%w (the events were not stored, or were stored by a commit whose answer was lost and whose head could not be read: %v)", err, herr)
	}
	return seqs, nil
}

// pubAck is the server's answer to the commit of an atomic batch.
type pubAck struct {
	Stream string              `json:"stream"`
	Seq    uint64              `json:"seq"`
	Batch  string              `json:"batch"`
	Count  int                 `json:"count"`
	Error  *jetstream.APIError `json:"error"`
}

// publishBatch publishes msgs as one atomic batch: every message but the
// last without waiting, the last with the commit header as a request whose
// answer reports the outcome of the whole batch. One connection keeps the
// messages in order.
func (s *Store) publishBatch(ctx context.Context, id string, msgs []*nats.Msg) error {
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
	// The last moment to give up: without a commit the server drops the
	// batch. Once the commit is sent, the answer is awaited whatever ctx
	// says, so that a stored batch is reported as stored.
	if err := ctx.Err(); err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.timeout)
	defer cancel()
	resp, err := s.nc.RequestMsgWithContext(actx, commit)
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
	if ack.Count != len(msgs) {
		return fmt.Errorf("commit stored %d messages of %d", ack.Count, len(msgs))
	}
	return nil
}

// Delete implements store.Store. It removes the session's events, then its
// head, each up to what it read first, so that an Append racing with it
// is either removed with the session or kept whole after it. Should the
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
	for {
		h, err := s.readHead(ctx, id)
		if err != nil {
			return fmt.Errorf("jetstream: delete %q: %w", id, err)
		}
		if h.sseq == 0 {
			return fmt.Errorf("jetstream: delete %q: %w", id, store.ErrNotFound)
		}
		subj := s.evSubj + token(id)
		last, err := s.stream.GetLastMsgForSubject(ctx, subj)
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("jetstream: delete %q: %w", id, err)
		}
		if last != nil {
			if seq, _ := strconv.ParseUint(last.Header.Get(hdrSeq), 10, 64); seq > h.Seq {
				continue // an append landed between the two reads
			}
			if err := s.stream.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(last.Sequence+1)); err != nil {
				return fmt.Errorf("jetstream: delete %q: events: %w", id, err)
			}
		}
		if err := s.stream.Purge(ctx, jetstream.WithPurgeSubject(s.headSubj+token(id)), jetstream.WithPurgeSequence(h.sseq+1)); err != nil {
			return fmt.Errorf("jetstream: delete %q: head: %w", id, err)
		}
		return nil
	}
}
