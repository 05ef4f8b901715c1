package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
)

// modelSub is a subscription as the model sees it.
type modelSub struct {
	sub      *bus.Subscription
	pattern  event.Pattern
	session  string // "" for any
	policy   bus.Policy
	sync     bool
	active   bool
	expected []uint64 // Seq of every event it should get, in order
	rec      recorder

	mu   sync.Mutex
	gate chan struct{} // non-nil while the handler is held
}

func (m *modelSub) handle(ctx context.Context, e *event.Event) {
	m.rec.handle(ctx, e)
	m.mu.Lock()
	g := m.gate
	m.mu.Unlock()
	if g != nil {
		<-g
	}
}

func (m *modelSub) hold() {
	m.mu.Lock()
	if m.gate == nil {
		m.gate = make(chan struct{})
	}
	m.mu.Unlock()
}

func (m *modelSub) release() {
	m.mu.Lock()
	if m.gate != nil {
		close(m.gate)
		m.gate = nil
	}
	m.mu.Unlock()
}

// TestModel drives a bus with random operations and compares what every
// subscriber received with a model: a lossless subscriber gets exactly the
// matching events published while it was subscribed, in order; a lossy one
// gets them in order with every gap announced by a Dropped notice of the
// gap's size.
func TestModel(t *testing.T) {
	types := []string{"a.x", "a.y", "b.x", "b.y.z", "delivery.other"}
	patterns := []string{"a.x", "a.*", "*.x", ">", "b.>", "*.*", "a.>"}
	sessions := []string{"", "s1", "s2"}
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		b := mustNew(t)
		var subs []*modelSub
		closed := false
		var seq uint64
		releaseAll := func() {
			for _, m := range subs {
				m.release()
			}
		}
		type op struct {
			weight int
			run    func(*rapid.T)
		}
		ops := []op{{12, func(rt *rapid.T) {
			m := &modelSub{
				pattern: event.MustPattern(rapid.SampledFrom(patterns).Draw(rt, "pattern")),
				session: rapid.SampledFrom(sessions).Draw(rt, "session"),
				policy:  rapid.SampledFrom([]bus.Policy{bus.Block, bus.DropNewest, bus.DropOldest}).Draw(rt, "policy"),
				sync:    rapid.IntRange(0, 3).Draw(rt, "sync") == 0,
			}
			opts := []bus.SubscribeOption{bus.WithSync()}
			if m.sync {
				m.policy = bus.Block
			} else {
				opts = []bus.SubscribeOption{bus.WithPolicy(m.policy), bus.WithQueue(rapid.IntRange(1, 4).Draw(rt, "queue"))}
			}
			if m.session != "" {
				opts = append(opts, bus.WithSession(m.session))
			}
			s, err := b.Subscribe(m.pattern, m.handle, opts...)
			if closed {
				if !errors.Is(err, bus.ErrClosed) {
					rt.Fatalf("Subscribe after Close: %v", err)
				}
				return
			}
			if err != nil {
				rt.Fatal(err)
			}
			m.sub, m.active = s, true
			subs = append(subs, m)
		}}, {55, func(rt *rapid.T) {
			seq++
			e := event.New(custom{T: event.Type(rapid.SampledFrom(types).Draw(rt, "type"))},
				event.Meta{SessionID: rapid.SampledFrom(sessions[1:]).Draw(rt, "event session")})
			e.Seq = seq
			err := b.Publish(ctx, &e)
			if closed {
				if !errors.Is(err, bus.ErrClosed) {
					rt.Fatalf("Publish after Close: %v", err)
				}
				return
			}
			if err != nil {
				rt.Fatal(err)
			}
			for _, m := range subs {
				if m.active && m.pattern.Match(e.Type) && (m.session == "" || m.session == e.Meta.SessionID) {
					m.expected = append(m.expected, seq)
				}
			}
		}}, {6, func(rt *rapid.T) {
			if len(subs) == 0 {
				return
			}
			m := rapid.SampledFrom(subs).Draw(rt, "sub")
			m.sub.Cancel()
			m.active = false
		}}, {12, func(rt *rapid.T) { // hold a lossy handler
			if len(subs) == 0 {
				return
			}
			// Holding a lossless handler would block the publisher.
			if m := rapid.SampledFrom(subs).Draw(rt, "sub"); m.policy != bus.Block {
				m.hold()
			}
		}}, {12, func(rt *rapid.T) { // release a handler
			if len(subs) > 0 {
				rapid.SampledFrom(subs).Draw(rt, "sub").release()
			}
		}}, {1, func(rt *rapid.T) { // close
			releaseAll()
			if err := b.Close(ctx); err != nil {
				rt.Fatalf("Close: %v", err)
			}
			closed = true
			for _, m := range subs {
				m.active = false
			}
		}}}
		var total int
		for _, o := range ops {
			total += o.weight
		}
		steps := rapid.IntRange(1, 300).Draw(rt, "steps")
		for range steps {
			k := rapid.IntRange(0, total-1).Draw(rt, "op")
			for _, o := range ops {
				if k < o.weight {
					o.run(rt)
					break
				}
				k -= o.weight
			}
			var n int
			for _, m := range subs {
				if m.active {
					n++
				}
			}
			if got := b.Stats().Subscriptions; !closed && got != n {
				rt.Fatalf("Stats().Subscriptions = %d, model has %d", got, n)
			}
		}
		releaseAll()
		if err := b.Close(ctx); err != nil {
			rt.Fatalf("Close: %v", err)
		}
		for i, m := range subs {
			<-m.sub.Done()
			if err := checkModel(m); err != nil {
				rt.Fatalf("subscription %d (%s, %v, sync %v, session %q): %v",
					i, m.pattern, m.policy, m.sync, m.session, err)
			}
		}
	})
}

func checkModel(m *modelSub) error {
	got := m.rec.events()
	st := m.sub.Stats()
	if m.policy == bus.Block {
		if len(got) != len(m.expected) {
			return fmt.Errorf("received %q, want Seq %v", describe(got), m.expected)
		}
		for i, e := range got {
			if e.Seq != m.expected[i] || dropped(e) >= 0 {
				return fmt.Errorf("received %q, want Seq %v", describe(got), m.expected)
			}
		}
		if st.Delivered != uint64(len(got)) || st.Dropped != 0 || st.QueueDepth != 0 {
			return fmt.Errorf("Stats %+v after receiving %d", st, len(got))
		}
		return nil
	}
	// Lossy: walk the expected events; a notice of n skips n of them.
	i, real, drops := 0, 0, int64(0)
	var pending int64
	for _, e := range got {
		if n := dropped(e); n >= 0 {
			if n == 0 || pending != 0 {
				return fmt.Errorf("received %q: empty or repeated notice", describe(got))
			}
			pending, drops = n, drops+n
			continue
		}
		i += int(pending)
		pending = 0
		if i >= len(m.expected) || e.Seq != m.expected[i] {
			return fmt.Errorf("received %q, want Seq %v with gaps announced", describe(got), m.expected)
		}
		i++
		real++
	}
	if i+int(pending) != len(m.expected) {
		return fmt.Errorf("received %q, want Seq %v with gaps announced", describe(got), m.expected)
	}
	if st.Delivered != uint64(real) || st.Dropped != uint64(drops) {
		return fmt.Errorf("Stats %+v; received %d and %d announced drops", st, real, drops)
	}
	return nil
}
