package stream_test

import (
	"context"
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/sluice-events/sluice/stream"
)

// model is the obvious, unconcurrent specification of a Stream: a log of
// accepted events, one cursor per attached reader, and a buffer that holds
// the events from the slowest cursor (or, with no reader, from the first
// event no reader has received) to the end of the log.
type model struct {
	size      uint64
	policy    stream.Policy
	log       []uint64 // the Seq of every accepted event, in order
	delivered uint64   // one past the newest event any reader received
	readers   []*modelReader
	detached  []*stream.Reader
	closed    bool
	dropped   uint64
	next      uint64 // Seq of the next event to try
}

type modelReader struct {
	r      *stream.Reader
	cursor uint64
}

func (m *model) head() uint64 {
	if len(m.readers) == 0 {
		return m.delivered
	}
	h := m.readers[0].cursor
	for _, r := range m.readers[1:] {
		h = min(h, r.cursor)
	}
	return h
}

func (m *model) len() int { return len(m.log) - int(m.head()) }

// TestModel runs random sequences of operations against a Stream and the
// model. Waiting operations use a cancelled context, so that "would block"
// shows up as context.Canceled and the run stays deterministic.
func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &model{
			size:   uint64(rapid.IntRange(1, 5).Draw(t, "size")),
			policy: rapid.SampledFrom([]stream.Policy{stream.Block, stream.DropNewest, stream.DropOldest}).Draw(t, "policy"),
		}
		s, err := stream.New("m", stream.WithBufferSize(int(m.size)), stream.WithPolicy(m.policy))
		if err != nil {
			t.Fatal(err)
		}
		done, cancel := context.WithCancel(context.Background())
		cancel()

		t.Repeat(map[string]func(*rapid.T){
			"send": func(t *rapid.T) {
				seq := m.next
				m.next++
				err := s.SendWithContext(done, ev(seq))
				switch {
				case m.closed:
					if !errors.Is(err, stream.ErrClosed) {
						t.Fatalf("send on closed = %v", err)
					}
				case uint64(m.len()) < m.size:
					if err != nil {
						t.Fatalf("send with room (len %d) = %v", m.len(), err)
					}
					m.log = append(m.log, seq)
				case m.policy == stream.DropNewest:
					if !errors.Is(err, stream.ErrFull) {
						t.Fatalf("drop send on full = %v", err)
					}
					m.dropped++
				case m.policy == stream.DropOldest:
					if err != nil {
						t.Fatalf("drop-oldest send on full = %v", err)
					}
					h := m.head() + 1 // the oldest held event is gone
					m.delivered = max(m.delivered, h)
					for _, r := range m.readers {
						r.cursor = max(r.cursor, h)
					}
					m.dropped++
					m.log = append(m.log, seq)
				default:
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("block send on full = %v", err)
					}
				}
			},
			"attach": func(t *rapid.T) {
				if len(m.readers) >= 4 {
					t.Skip("enough readers")
				}
				m.readers = append(m.readers, &modelReader{r: s.Reader(), cursor: m.delivered})
			},
			"receive": func(t *rapid.T) {
				if len(m.readers) == 0 {
					t.Skip("no reader")
				}
				mr := m.readers[rapid.IntRange(0, len(m.readers)-1).Draw(t, "reader")]
				e, err := mr.r.Receive(done)
				switch {
				case mr.cursor < uint64(len(m.log)):
					if err != nil || e.Seq != m.log[mr.cursor] {
						t.Fatalf("receive = %d, %v; want %d", e.Seq, err, m.log[mr.cursor])
					}
					mr.cursor++
					m.delivered = max(m.delivered, mr.cursor)
				case m.closed:
					if !errors.Is(err, stream.ErrClosed) {
						t.Fatalf("receive at end of closed = %v", err)
					}
				default:
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("receive on empty = %v", err)
					}
				}
			},
			"detach": func(t *rapid.T) {
				if len(m.readers) == 0 {
					t.Skip("no reader")
				}
				i := rapid.IntRange(0, len(m.readers)-1).Draw(t, "reader")
				if err := m.readers[i].r.Close(); err != nil {
					t.Fatal(err)
				}
				m.detached = append(m.detached, m.readers[i].r)
				m.readers = append(m.readers[:i], m.readers[i+1:]...)
			},
			"receiveDetached": func(t *rapid.T) {
				if len(m.detached) == 0 {
					t.Skip("no detached reader")
				}
				r := m.detached[rapid.IntRange(0, len(m.detached)-1).Draw(t, "detached")]
				if _, err := r.Receive(done); !errors.Is(err, stream.ErrClosed) {
					t.Fatalf("receive on detached = %v", err)
				}
			},
			"close": func(t *rapid.T) {
				err := s.Close()
				if m.closed != (err != nil) || (err != nil && !errors.Is(err, stream.ErrClosed)) {
					t.Fatalf("close (closed before: %v) = %v", m.closed, err)
				}
				m.closed = true
			},
			"": func(t *rapid.T) {
				info := s.Info()
				if s.Len() != m.len() || info.Len != m.len() {
					t.Fatalf("Len = %d, info %d, model %d", s.Len(), info.Len, m.len())
				}
				if info.Closed != m.closed || s.IsClosed() != m.closed {
					t.Fatalf("closed = %v, model %v", info.Closed, m.closed)
				}
				if info.Dropped != m.dropped || info.Readers != len(m.readers) || info.BlockedSenders != 0 {
					t.Fatalf("info %+v; model dropped %d readers %d", info, m.dropped, len(m.readers))
				}
			},
		})
	})
}
