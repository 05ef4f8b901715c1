package bus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ sluice.Sink = (*bus.Bus)(nil)

// recorder is a handler that keeps copies of what it receives.
type recorder struct {
	mu  sync.Mutex
	evs []event.Event
}

func (r *recorder) handle(_ context.Context, ev *event.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, *ev)
	r.mu.Unlock()
}

func (r *recorder) events() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

func (r *recorder) types() []string {
	var out []string
	for _, ev := range r.events() {
		out = append(out, string(ev.Type))
	}
	return out
}

// custom is a payload whose type the tests choose.
type custom struct {
	T event.Type
	N int
}

func (c custom) EventType() event.Type { return c.T }

func ev(t string, seq uint64) event.Event {
	e := event.New(custom{T: event.Type(t)})
	e.Seq = seq
	return e
}

// mustNew returns a new bus or ends the test.
func mustNew(tb testing.TB, opts ...bus.Option) *bus.Bus {
	tb.Helper()
	b, err := bus.New(opts...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return b
}

// newBus returns a new bus closed when the test ends.
func newBus(t *testing.T, opts ...bus.Option) *bus.Bus {
	t.Helper()
	b := mustNew(t, opts...)
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func subscribe(t *testing.T, b *bus.Bus, pattern string, h bus.Handler, opts ...bus.SubscribeOption) *bus.Subscription {
	t.Helper()
	s, err := b.Subscribe(event.MustPattern(pattern), h, opts...)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", pattern, err)
	}
	return s
}

func publish(t *testing.T, b *bus.Bus, e event.Event) {
	t.Helper()
	if err := b.Publish(context.Background(), &e); err != nil {
		t.Fatalf("Publish(%s): %v", e.Type, err)
	}
}

func TestSubscribeErrors(t *testing.T) {
	b := newBus(t)
	nop := func(context.Context, *event.Event) {}
	if _, err := b.Subscribe(event.Pattern{}, nop); !errors.Is(err, event.ErrPattern) || !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Subscribe(zero pattern): %v, want ErrPattern and ErrInvalid", err)
	}
	for name, opt := range map[string]bus.SubscribeOption{
		"nil option":      nil,
		"WithQueue(0)":    bus.WithQueue(0),
		"WithQueue(-1)":   bus.WithQueue(-1),
		"WithPolicy(7)":   bus.WithPolicy(7),
		"WithFilter(nil)": bus.WithFilter(nil),
	} {
		if _, err := b.Subscribe(event.All, nop, opt); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("Subscribe with %s: %v, want ErrInvalid", name, err)
		}
	}
	for name, opts := range map[string][]bus.SubscribeOption{
		"WithSync and WithQueue":  {bus.WithSync(), bus.WithQueue(8)},
		"WithPolicy and WithSync": {bus.WithPolicy(bus.DropOldest), bus.WithSync()},
	} {
		if _, err := b.Subscribe(event.All, nop, opts...); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("Subscribe with %s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := b.Subscribe(event.All, nil); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Subscribe with a nil handler: %v, want ErrInvalid", err)
	}
	if got := b.Stats().Subscriptions; got != 0 {
		t.Errorf("failed subscriptions left %d subscriptions", got)
	}
}

func TestNewErrors(t *testing.T) {
	for name, opt := range map[string]bus.Option{
		"nil option":            nil,
		"WithLogger(nil)":       bus.WithLogger(nil),
		"WithPanicHandler(nil)": bus.WithPanicHandler(nil),
	} {
		if b, err := bus.New(opt); !errors.Is(err, bus.ErrInvalid) || b != nil {
			t.Errorf("New with %s: %v, %v; want nil, ErrInvalid", name, b, err)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []bus.Policy{bus.Block, bus.DropNewest, bus.DropOldest} {
		if got, err := bus.ParsePolicy(p.String()); got != p || err != nil {
			t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := bus.ParsePolicy("drop"); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("ParsePolicy(drop): %v, want ErrInvalid", err)
	}
}

func TestPatterns(t *testing.T) {
	b := mustNew(t)
	patterns := []string{"tool.call.started", "tool.call.*", "message.>", ">", "*.*"}
	recs := make([]*recorder, len(patterns))
	for i, p := range patterns {
		recs[i] = &recorder{}
		subscribe(t, b, p, recs[i].handle)
	}
	types := []string{"tool.call.started", "tool.call.completed", "tool.call", "message.text.delta",
		"message.started", "message", "agent.log", "tool.call.a.b"}
	for i, ty := range types {
		publish(t, b, ev(ty, uint64(i)))
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, p := range patterns {
		pat := event.MustPattern(p)
		var want []string
		for _, ty := range types {
			if pat.Match(event.Type(ty)) {
				want = append(want, ty)
			}
		}
		if got := recs[i].types(); !slices.Equal(got, want) {
			t.Errorf("%q received %q, want %q", p, got, want)
		}
	}
}

func TestWhereAndSession(t *testing.T) {
	b := mustNew(t)
	var sess, odd, both recorder
	subscribe(t, b, ">", sess.handle, bus.WithSession("s1"))
	isOdd := bus.WithFilter(func(e *event.Event) bool { return e.Seq%2 == 1 })
	subscribe(t, b, ">", odd.handle, isOdd, bus.WithSync())
	subscribe(t, b, ">", both.handle, isOdd, bus.WithSession("s1"))
	for i := range 6 {
		e := ev("a.b", uint64(i))
		e.Meta.SessionID = []string{"s1", "s2"}[i/3]
		publish(t, b, e)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	seqs := func(r *recorder) (out []uint64) {
		for _, e := range r.events() {
			out = append(out, e.Seq)
		}
		return out
	}
	if got := seqs(&sess); !slices.Equal(got, []uint64{0, 1, 2}) {
		t.Errorf("Session(s1) got %v", got)
	}
	if got := seqs(&odd); !slices.Equal(got, []uint64{1, 3, 5}) {
		t.Errorf("Where(odd) got %v", got)
	}
	if got := seqs(&both); !slices.Equal(got, []uint64{1}) {
		t.Errorf("Where(odd)+Session(s1) got %v", got)
	}
}

func TestEnabled(t *testing.T) {
	ctx := context.Background()
	b := mustNew(t)
	if b.Enabled(ctx, "tool.call.started") {
		t.Error("Enabled with no subscription")
	}
	s := subscribe(t, b, "tool.>", func(context.Context, *event.Event) {})
	if !b.Enabled(ctx, "tool.call.started") {
		t.Error("tool.call.started not enabled under tool.>")
	}
	// The answer for a type is cached; a new subscription must show.
	if b.Enabled(ctx, "message.text.delta") {
		t.Error("message.text.delta enabled under tool.>")
	}
	s2 := subscribe(t, b, "message.*.delta", func(context.Context, *event.Event) {})
	if !b.Enabled(ctx, "message.text.delta") {
		t.Error("message.text.delta not enabled after subscribing message.*.delta")
	}
	// A type string with other backing memory gives the same answer.
	dyn := event.Type(strings.Join([]string{"message", "text", "delta"}, "."))
	if !b.Enabled(ctx, dyn) {
		t.Error("a dynamically built type not enabled")
	}
	s2.Cancel()
	if b.Enabled(ctx, "message.text.delta") || b.Enabled(ctx, dyn) {
		t.Error("message.text.delta enabled after Cancel")
	}
	if !b.Enabled(ctx, "tool.call.started") {
		t.Error("tool.call.started not enabled after cancelling the other subscription")
	}
	s.Cancel()
	if b.Enabled(ctx, "tool.call.started") {
		t.Error("enabled after cancelling every subscription")
	}
	subscribe(t, b, ">", func(context.Context, *event.Event) {})
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Enabled(ctx, "tool.call.started") {
		t.Error("enabled after Close")
	}
}

func TestPublishNoSubscriberAllocs(t *testing.T) {
	b := mustNew(t)
	defer b.Close(context.Background())
	e := ev("a.b", 1)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = b.Publish(ctx, &e) }); n != 0 {
		t.Errorf("Publish with no subscriber: %v allocations", n)
	}
	subscribe(t, b, "x.>", func(context.Context, *event.Event) {})
	if n := testing.AllocsPerRun(100, func() { _ = b.Publish(ctx, &e) }); n != 0 {
		t.Errorf("Publish with no matching subscriber: %v allocations", n)
	}
}

type ctxKey struct{}

func TestSyncHandlers(t *testing.T) {
	b := newBus(t)
	var mu sync.Mutex
	var log []string
	record := func(name string) bus.Handler {
		return func(ctx context.Context, e *event.Event) {
			// The publisher's context shows that the handler runs
			// inside Publish, in the publisher's goroutine.
			mu.Lock()
			log = append(log, fmt.Sprintf("%s:%d:%v", name, e.Seq, ctx.Value(ctxKey{})))
			mu.Unlock()
		}
	}
	subscribe(t, b, ">", record("first"), bus.WithSync())
	subscribe(t, b, "a.*", record("second"), bus.WithSync())
	subscribe(t, b, ">", record("third"), bus.WithSync())
	for i := range 3 {
		ctx := context.WithValue(context.Background(), ctxKey{}, fmt.Sprint("p", i))
		e := ev("a.b", uint64(i))
		if err := b.Publish(ctx, &e); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := slices.Clone(log)
		log = nil
		mu.Unlock()
		want := []string{
			fmt.Sprintf("first:%d:p%d", i, i),
			fmt.Sprintf("second:%d:p%d", i, i),
			fmt.Sprintf("third:%d:p%d", i, i),
		}
		if !slices.Equal(got, want) {
			t.Errorf("when Publish returned: %q, want %q", got, want)
		}
	}
}

func TestSyncHandlerSameGoroutine(t *testing.T) {
	b := newBus(t)
	var handlerG string
	subscribe(t, b, ">", func(context.Context, *event.Event) { handlerG = goroutineID() }, bus.WithSync())
	publish(t, b, ev("a.b", 1))
	if me := goroutineID(); handlerG != me {
		t.Errorf("sync handler ran in goroutine %s, publisher is %s", handlerG, me)
	}
}

func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}

// TestOrderManyPublishers runs several publishers into several lossless
// subscribers with tiny queues, and checks that each subscriber got every
// event of every publisher, in that publisher's order.
func TestOrderManyPublishers(t *testing.T) {
	const publishers, subscribers, perPublisher = 4, 5, 3000
	b := mustNew(t)
	type got struct {
		mu   sync.Mutex
		next [publishers]uint64
		errs []string
		n    int
	}
	gots := make([]*got, subscribers)
	for i := range gots {
		g := &got{}
		gots[i] = g
		h := func(_ context.Context, e *event.Event) {
			p := int(e.Payload.(custom).N)
			g.mu.Lock()
			defer g.mu.Unlock()
			if e.Seq != g.next[p] && len(g.errs) < 5 {
				g.errs = append(g.errs, fmt.Sprintf("publisher %d: got %d, want %d", p, e.Seq, g.next[p]))
			}
			g.next[p] = e.Seq + 1
			g.n++
		}
		opts := []bus.SubscribeOption{bus.WithQueue(1 + i*3)}
		if i == subscribers-1 {
			opts = []bus.SubscribeOption{bus.WithSync()}
		}
		subscribe(t, b, ">", h, opts...)
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range perPublisher {
				e := event.New(custom{T: "order.test", N: p})
				e.Seq = uint64(i)
				if err := b.Publish(context.Background(), &e); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, g := range gots {
		if len(g.errs) > 0 {
			t.Errorf("subscriber %d out of order: %v", i, g.errs)
		}
		if g.n != publishers*perPublisher {
			t.Errorf("subscriber %d got %d events, want %d", i, g.n, publishers*perPublisher)
		}
	}
}

// gate is a handler that blocks on each event until released.
type gate struct {
	recorder
	entered chan uint64
	release chan struct{}
}

func newGate() *gate {
	return &gate{entered: make(chan uint64, 1000), release: make(chan struct{})}
}

func (g *gate) handle(ctx context.Context, e *event.Event) {
	g.recorder.handle(ctx, e)
	if e.Type == event.TypeDropped {
		return
	}
	g.entered <- e.Seq
	<-g.release
}

func (g *gate) open() { close(g.release) }

func dropped(e event.Event) int64 {
	if d, ok := event.As[event.Dropped](e); ok {
		return d.Count
	}
	return -1
}

// describe renders received events as "3" for a real event and "d2" for a
// Dropped notice of 2.
func describe(evs []event.Event) string {
	var parts []string
	for _, e := range evs {
		if n := dropped(e); n >= 0 {
			parts = append(parts, fmt.Sprintf("d%d", n))
		} else {
			parts = append(parts, fmt.Sprint(e.Seq))
		}
	}
	return strings.Join(parts, " ")
}

func TestDropNewest(t *testing.T) {
	b := mustNew(t)
	g := newGate()
	s := subscribe(t, b, ">", g.handle, bus.WithQueue(3), bus.WithPolicy(bus.DropNewest))
	publish(t, b, ev("a.b", 0))
	<-g.entered // the handler holds 0; the queue is empty
	for i := 1; i <= 6; i++ {
		publish(t, b, ev("a.b", uint64(i)))
	}
	if st := s.Stats(); st.Dropped != 3 || st.QueueDepth != 3 || st.QueueCap != 3 {
		t.Errorf("Stats = %+v, want 3 dropped, depth 3, cap 3", st)
	}
	g.open()
	for range 3 {
		<-g.entered // the handler took 1, 2 and 3: the queue is empty
	}
	next := ev("a.b", 7)
	next.Meta.RunID = "run-7"
	publish(t, b, next)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := g.events()
	if got, want := describe(evs), "0 1 2 3 d3 7"; got != want {
		t.Errorf("received %q, want %q", got, want)
	}
	if d := evs[4]; d.Type != event.TypeDropped || d.Meta.RunID != "run-7" ||
		d.Payload.(event.Dropped).Reason != bus.DropReason {
		t.Errorf("Dropped notice %+v: want type delivery.dropped, reason queue_full, the next event's Meta", d)
	}
	if st := s.Stats(); st.Delivered != 5 || st.Dropped != 3 {
		t.Errorf("Stats = %+v, want 5 delivered, 3 dropped", st)
	}
}

func TestDropOldest(t *testing.T) {
	b := mustNew(t)
	g := newGate()
	s := subscribe(t, b, ">", g.handle, bus.WithQueue(3), bus.WithPolicy(bus.DropOldest))
	publish(t, b, ev("a.b", 0))
	<-g.entered
	for i := 1; i <= 8; i++ {
		e := ev("a.b", uint64(i))
		e.Meta.RunID = fmt.Sprint("run-", i)
		publish(t, b, e)
	}
	g.open()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := g.events()
	if got, want := describe(evs), "0 d5 6 7 8"; got != want {
		t.Errorf("received %q, want %q", got, want)
	}
	if evs[1].Meta.RunID != "run-6" {
		t.Errorf("Dropped notice carries RunID %q, want the next event's run-6", evs[1].Meta.RunID)
	}
	if st := s.Stats(); st.Delivered != 4 || st.Dropped != 5 || st.QueueDepth != 0 {
		t.Errorf("Stats = %+v, want 4 delivered, 5 dropped, empty queue", st)
	}
}

// TestDropNoticeAtClose checks that drops with no later event are still
// reported, when the subscription ends.
func TestDropNoticeAtClose(t *testing.T) {
	b := mustNew(t)
	g := newGate()
	subscribe(t, b, ">", g.handle, bus.WithQueue(1), bus.WithPolicy(bus.DropNewest))
	publish(t, b, ev("a.b", 0))
	<-g.entered
	publish(t, b, ev("a.b", 1))
	publish(t, b, ev("a.b", 2))
	publish(t, b, ev("a.b", 3))
	g.open()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := describe(g.events()), "0 1 d2"; got != want {
		t.Errorf("received %q, want %q", got, want)
	}
}

// TestDropAccounting forces drops in rounds: the handler blocks on each
// round's first event, the round then publishes more events than the queue
// holds, and the handler is let go. Every missing event must be accounted
// for by a Dropped notice just before the next event received, the counts
// must be exact, and what survives must be what the policy keeps.
func TestDropAccounting(t *testing.T) {
	const (
		queue  = 16
		rounds = 10
	)
	for _, policy := range []bus.Policy{bus.DropNewest, bus.DropOldest} {
		t.Run(policy.String(), func(t *testing.T) {
			b := mustNew(t)
			var rec recorder
			heads := make(map[uint64]bool) // the handler holds them
			tails := make(map[uint64]bool) // the last event of each round to get through
			entered := make(chan uint64)
			drained := make(chan uint64)
			release := make(chan struct{})
			h := func(ctx context.Context, e *event.Event) {
				rec.handle(ctx, e)
				switch {
				case e.Type == event.TypeDropped:
				case heads[e.Seq]:
					entered <- e.Seq
					<-release
				case tails[e.Seq]:
					drained <- e.Seq
				}
			}
			// Every round publishes a head event, which the handler holds,
			// then queue+k events while it does: k of them are dropped.
			var want []uint64 // the Seq of the events that must get through
			n, wantDropped := 0, 0
			for r := range rounds {
				k := 1 + r*3
				heads[uint64(n)] = true
				want = append(want, uint64(n))
				first := n + 1
				keep := first // DropNewest keeps the first queue events
				if policy == bus.DropOldest {
					keep = first + k // DropOldest keeps the last queue events
				}
				for i := range queue {
					want = append(want, uint64(keep+i))
				}
				tails[uint64(keep+queue-1)] = true
				n += 1 + queue + k
				wantDropped += k
			}
			s := subscribe(t, b, ">", h, bus.WithQueue(queue), bus.WithPolicy(policy))
			seq := 0
			for r := range rounds {
				k := 1 + r*3
				publish(t, b, ev("a.b", uint64(seq)))
				if got := <-entered; got != uint64(seq) {
					t.Fatalf("round %d: handler holds %d, want %d", r, got, seq)
				}
				// The handler holds the head and everything before it was
				// delivered: the queue is empty.
				for i := 1; i <= queue+k; i++ {
					publish(t, b, ev("a.b", uint64(seq+i)))
				}
				if st := s.Stats(); st.QueueDepth != queue {
					t.Fatalf("round %d: queue depth %d, want %d", r, st.QueueDepth, queue)
				}
				seq += 1 + queue + k
				release <- struct{}{}
				// Wait for the round's last survivor, so that the next
				// head finds the queue empty instead of being dropped.
				<-drained
			}
			if err := b.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			evs := rec.events()
			received, droppedSum := checkGaps(t, evs, n)
			st := s.Stats()
			if droppedSum == 0 {
				t.Fatal("nothing was dropped")
			}
			if droppedSum != wantDropped || received != len(want) || received+droppedSum != n {
				t.Errorf("received %d + dropped %d of %d published, want %d + %d", received, droppedSum, n, len(want), wantDropped)
			}
			if st.Delivered != uint64(received) || st.Dropped != uint64(wantDropped) {
				t.Errorf("Stats %+v, want %d delivered, %d dropped", st, received, wantDropped)
			}
			var got []uint64
			for _, e := range evs {
				if dropped(e) < 0 {
					got = append(got, e.Seq)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("received Seq %v,\nwant %v", got, want)
			}
		})
	}
}

// checkGaps checks that evs holds events with increasing Seq from 0 to n-1
// where every gap is announced by a Dropped notice of its exact size, and
// returns the number of real events and the sum of the notices.
func checkGaps(t *testing.T, evs []event.Event, n int) (received, droppedSum int) {
	t.Helper()
	next := uint64(0)
	var pending int64
	for i, e := range evs {
		if c := dropped(e); c >= 0 {
			if c == 0 || pending != 0 {
				t.Fatalf("event %d: Dropped %d after an unconsumed notice of %d", i, c, pending)
			}
			pending = c
			droppedSum += int(c)
			continue
		}
		if e.Seq != next+uint64(pending) {
			t.Fatalf("event %d: got Seq %d, want %d (next %d + notice %d)", i, e.Seq, next+uint64(pending), next, pending)
		}
		next, pending = e.Seq+1, 0
		received++
	}
	if next+uint64(pending) != uint64(n) {
		t.Fatalf("stream ends at %d + notice %d, want %d", next, pending, n)
	}
	return received, droppedSum
}

func TestPublishContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t)
		g := newGate()
		subscribe(t, b, ">", g.handle, bus.WithQueue(1))
		publish(t, b, ev("a.b", 0))
		<-g.entered
		publish(t, b, ev("a.b", 1)) // fills the queue
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		e := ev("a.b", 2)
		err := b.Publish(ctx, &e)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Publish into a full queue: %v, want DeadlineExceeded", err)
		}
		g.open()
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := describe(g.events()); got != "0 1" {
			t.Errorf("received %q, want \"0 1\"", got)
		}
	})
}

func TestCloseWakesBlockedPublishers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t)
		g := newGate()
		var other recorder
		// Events reach the other subscriber first, then block on the gate.
		subscribe(t, b, ">", other.handle)
		subscribe(t, b, ">", g.handle, bus.WithQueue(1))
		publish(t, b, ev("a.b", 0))
		<-g.entered
		publish(t, b, ev("a.b", 1))
		errs := make(chan error, 3)
		for i := range 3 {
			go func() {
				e := ev("a.b", uint64(10+i))
				errs <- b.Publish(context.Background(), &e)
			}()
		}
		synctest.Wait() // the three publishers wait for room
		closed := make(chan error, 1)
		go func() { closed <- b.Close(context.Background()) }()
		for range 3 {
			if err := <-errs; !errors.Is(err, bus.ErrClosed) {
				t.Errorf("blocked Publish after Close: %v, want ErrClosed", err)
			}
		}
		synctest.Wait()
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) before the accepted events were delivered", err)
		default:
		}
		g.open()
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := describe(g.events()); got != "0 1" {
			t.Errorf("gated subscriber received %q, want \"0 1\"", got)
		}
		// The other subscriber had accepted the three events before the
		// publishers blocked, so it gets them too.
		if n := len(other.events()); n != 5 {
			t.Errorf("other subscriber received %d events, want 5", n)
		}
		e := ev("a.b", 99)
		if err := b.Publish(context.Background(), &e); !errors.Is(err, bus.ErrClosed) {
			t.Errorf("Publish after Close: %v, want ErrClosed", err)
		}
		if _, err := b.Subscribe(event.All, g.handle); !errors.Is(err, bus.ErrClosed) {
			t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
		}
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestCloseDeliversEverything(t *testing.T) {
	b := mustNew(t)
	var n atomic.Int64
	subscribe(t, b, ">", func(context.Context, *event.Event) {
		if n.Add(1)%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}, bus.WithQueue(5000))
	for i := range 3000 {
		publish(t, b, ev("a.b", uint64(i)))
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3000 {
		t.Errorf("Close returned after %d of 3000 events", n.Load())
	}
}

func TestCloseTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t)
		g := newGate()
		var fast recorder
		var handlerCtx atomic.Value
		s := subscribe(t, b, ">", func(ctx context.Context, e *event.Event) {
			handlerCtx.Store(ctx)
			g.handle(ctx, e)
		}, bus.WithQueue(10))
		subscribe(t, b, ">", fast.handle)
		for i := range 5 {
			publish(t, b, ev("a.b", uint64(i)))
		}
		<-g.entered
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := b.Close(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), " 4 accepted events not delivered") {
			t.Errorf("Close: %v, want DeadlineExceeded and 4 undelivered events", err)
		}
		if hc := handlerCtx.Load().(context.Context); hc.Err() == nil {
			t.Error("the asynchronous handler's context is not canceled after Close gave up")
		}
		g.open()
		<-s.Done()
		if got := describe(g.events()); got != "0" {
			t.Errorf("received %q after Close gave up, want \"0\"", got)
		}
		if n := len(fast.events()); n != 5 {
			t.Errorf("the other subscriber received %d events, want 5", n)
		}
	})
}

func TestCancel(t *testing.T) {
	b := newBus(t)
	var async, syn recorder
	sa := subscribe(t, b, ">", async.handle)
	ss := subscribe(t, b, ">", syn.handle, bus.WithSync())
	publish(t, b, ev("a.b", 1))
	sa.Cancel()
	ss.Cancel()
	sa.Cancel() // again: nothing happens
	publish(t, b, ev("a.b", 2))
	<-sa.Done()
	<-ss.Done()
	if got := describe(async.events()); got != "1" {
		t.Errorf("async received %q, want \"1\"", got)
	}
	if got := describe(syn.events()); got != "1" {
		t.Errorf("sync received %q, want \"1\"", got)
	}
	if n := b.Stats().Subscriptions; n != 0 {
		t.Errorf("%d subscriptions left", n)
	}
}

func TestCancelFromHandler(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprint("sync=", sync), func(t *testing.T) {
			b := newBus(t)
			var rec recorder
			var sub atomic.Pointer[bus.Subscription]
			cancelled := make(chan struct{})
			h := func(ctx context.Context, e *event.Event) {
				rec.handle(ctx, e)
				if e.Seq == 3 {
					sub.Load().Cancel()
					close(cancelled)
				}
			}
			var opts []bus.SubscribeOption
			if sync {
				opts = append(opts, bus.WithSync())
			}
			sub.Store(subscribe(t, b, ">", h, opts...))
			for i := range 4 {
				publish(t, b, ev("a.b", uint64(i)))
			}
			<-cancelled
			for i := 4; i < 10; i++ {
				publish(t, b, ev("a.b", uint64(i)))
			}
			<-sub.Load().Done()
			if got := describe(rec.events()); got != "0 1 2 3" {
				t.Errorf("received %q, want \"0 1 2 3\"", got)
			}
		})
	}
}

// TestCancelDuringDelivery cancels subscriptions while publishers publish:
// what each subscriber received from each publisher must be a prefix of what
// it published (order, and nothing accepted is lost), and nothing published
// after Cancel returned may arrive.
func TestCancelDuringDelivery(t *testing.T) {
	const publishers, subs, perPublisher = 3, 6, 2000
	b := newBus(t)
	type state struct {
		mu      sync.Mutex
		next    [publishers]uint64
		markers uint64
		bad     []string
		sub     *bus.Subscription
		stopped atomic.Bool
	}
	states := make([]*state, subs)
	for i := range states {
		st := &state{}
		states[i] = st
		h := func(_ context.Context, e *event.Event) {
			p := e.Payload.(custom).N
			st.mu.Lock()
			defer st.mu.Unlock()
			if p < 0 {
				if -p-1 == i {
					st.bad = append(st.bad, "received an event published after Cancel returned")
				}
				st.markers++
				return
			}
			if e.Seq != st.next[p] {
				st.bad = append(st.bad, fmt.Sprintf("publisher %d: got %d, want %d", p, e.Seq, st.next[p]))
			}
			st.next[p] = e.Seq + 1
		}
		opts := []bus.SubscribeOption{bus.WithQueue(4)}
		if i%3 == 2 {
			opts = []bus.SubscribeOption{bus.WithSync()}
		}
		st.sub = subscribe(t, b, ">", h, opts...)
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range perPublisher {
				e := event.New(custom{T: "cancel.test", N: p})
				e.Seq = uint64(i)
				if err := b.Publish(context.Background(), &e); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i, st := range states {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 200 * time.Microsecond)
			st.sub.Cancel()
			e := event.New(custom{T: "cancel.test", N: -i - 1})
			if err := b.Publish(context.Background(), &e); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, st := range states {
		<-st.sub.Done()
		st.mu.Lock()
		if len(st.bad) > 0 {
			t.Errorf("subscriber %d: %v", i, st.bad[:min(len(st.bad), 5)])
		}
		if d := st.sub.Stats().Delivered; d != st.next[0]+st.next[1]+st.next[2]+st.markers {
			t.Errorf("subscriber %d: Stats.Delivered %d, received %v", i, d, st.next)
		}
		st.mu.Unlock()
	}
}

func TestPanicRecovery(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	type report struct {
		sub *bus.Subscription
		seq uint64
		r   any
	}
	var reports []report
	b := newBus(t,
		bus.WithLogger(slog.New(slog.NewTextHandler(&syncWriter{w: &logs, mu: &mu}, nil))),
		bus.WithPanicHandler(func(s *bus.Subscription, e *event.Event, r any) {
			mu.Lock()
			reports = append(reports, report{s, e.Seq, r})
			mu.Unlock()
			panic("a panicking OnPanic is ignored too")
		}))
	var asyncGot, syncGot, other recorder
	panicky := func(r *recorder) bus.Handler {
		return func(ctx context.Context, e *event.Event) {
			r.handle(ctx, e)
			if e.Seq%3 == 1 {
				panic(fmt.Sprint("boom ", e.Seq))
			}
		}
	}
	sa := subscribe(t, b, ">", panicky(&asyncGot))
	ss := subscribe(t, b, ">", panicky(&syncGot), bus.WithSync())
	subscribe(t, b, ">", other.handle)
	for i := range 6 {
		publish(t, b, ev("a.b", uint64(i))) // a sync panic does not reach the publisher
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*recorder{"async": &asyncGot, "sync": &syncGot, "other": &other} {
		if got := describe(r.events()); got != "0 1 2 3 4 5" {
			t.Errorf("%s received %q, want all six", name, got)
		}
	}
	for _, s := range []*bus.Subscription{sa, ss} {
		if st := s.Stats(); st.Panics != 2 || st.Delivered != 6 {
			t.Errorf("subscription %d: Stats %+v, want 2 panics, 6 delivered", s.ID(), st)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 4 {
		t.Fatalf("OnPanic called %d times, want 4", len(reports))
	}
	for _, r := range reports {
		if (r.sub != sa && r.sub != ss) || r.seq%3 != 1 || r.r != fmt.Sprint("boom ", r.seq) {
			t.Errorf("OnPanic(%v, %d, %v)", r.sub.ID(), r.seq, r.r)
		}
	}
	if n := strings.Count(logs.String(), "handler panicked"); n != 4 || !strings.Contains(logs.String(), "boom 4") {
		t.Errorf("log has %d panic reports:\n%s", n, logs.String())
	}
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestStats(t *testing.T) {
	b := mustNew(t)
	g := newGate()
	s1 := subscribe(t, b, ">", g.handle, bus.WithQueue(8))
	s2 := subscribe(t, b, "a.*", func(context.Context, *event.Event) {}, bus.WithSync())
	if s1.ID() >= s2.ID() || s2.Pattern() != "a.*" {
		t.Errorf("IDs %d, %d; pattern %q", s1.ID(), s2.ID(), s2.Pattern())
	}
	for i := range 4 {
		publish(t, b, ev("a.b", uint64(i)))
	}
	<-g.entered
	if st := s1.Stats(); st != (bus.Stats{Delivered: 1, QueueDepth: 3, QueueCap: 8}) {
		t.Errorf("async Stats = %+v", st)
	}
	if st := s2.Stats(); st != (bus.Stats{Delivered: 4}) {
		t.Errorf("sync Stats = %+v", st)
	}
	if st := b.Stats(); st != (bus.Stats{Delivered: 5, QueueDepth: 3, QueueCap: 8, Subscriptions: 2}) {
		t.Errorf("bus Stats = %+v", st)
	}
	g.open()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s1.Stats(); st.Delivered != 4 || st.QueueDepth != 0 {
		t.Errorf("async Stats after Close = %+v", st)
	}
}

func TestNilEvent(t *testing.T) {
	b := newBus(t)
	if err := b.Publish(context.Background(), nil); !errors.Is(err, sluice.ErrNilEvent) {
		t.Errorf("Publish(nil) with no subscriber: %v, want sluice.ErrNilEvent", err)
	}
	subscribe(t, b, ">", func(context.Context, *event.Event) {})
	if err := b.Publish(context.Background(), nil); !errors.Is(err, sluice.ErrNilEvent) {
		t.Errorf("Publish(nil): %v, want sluice.ErrNilEvent", err)
	}
}

func TestPublishFromHandler(t *testing.T) {
	b := newBus(t)
	var pongs sync.WaitGroup
	pongs.Add(6)
	subscribe(t, b, "ping", func(ctx context.Context, e *event.Event) {
		pong := ev("pong", e.Seq)
		if err := b.Publish(ctx, &pong); err != nil {
			t.Error(err)
		}
	})
	subscribe(t, b, "ping", func(ctx context.Context, e *event.Event) {
		pong := ev("pong", e.Seq+100)
		if err := b.Publish(ctx, &pong); err != nil {
			t.Error(err)
		}
	}, bus.WithSync())
	subscribe(t, b, "pong", func(context.Context, *event.Event) { pongs.Done() }, bus.WithSync())
	for i := range 3 {
		publish(t, b, ev("ping", uint64(i)))
	}
	pongs.Wait() // six pongs, or the test times out
}

var discard = slog.New(slog.DiscardHandler)

// TestCloseTimeoutCountsOnlyKept checks that events a DropOldest queue
// discarded are not reported as undelivered: they were reported as dropped.
func TestCloseTimeoutCountsOnlyKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t)
		g := newGate()
		s := subscribe(t, b, ">", g.handle, bus.WithQueue(2), bus.WithPolicy(bus.DropOldest))
		publish(t, b, ev("a.b", 0))
		<-g.entered
		for i := 1; i <= 5; i++ {
			publish(t, b, ev("a.b", uint64(i)))
		}
		if st := s.Stats(); st.Dropped != 3 || st.QueueDepth != 2 {
			t.Errorf("Stats = %+v, want 3 dropped, depth 2", st)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := b.Close(ctx); err == nil || !strings.Contains(err.Error(), " 2 accepted events not delivered") {
			t.Errorf("Close: %v, want 2 undelivered events", err)
		}
		g.open()
		<-s.Done()
		if got := describe(g.events()); got != "0" {
			t.Errorf("received %q after Close gave up, want \"0\"", got)
		}
	})
}
