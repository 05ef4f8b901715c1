package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/stream"
)

// A *Stream is a sluice.Sink.
var _ sluice.Sink = (*stream.Stream)(nil)

func TestDefaults(t *testing.T) {
	s := mustNew(t, "sess-1")
	if s.ID() != "sess-1" || s.BufferSize() != stream.DefaultBufferSize || stream.DefaultBufferSize != 100 ||
		s.Policy() != stream.Block || s.Len() != 0 || s.IsClosed() {
		t.Fatalf("defaults: id=%q size=%d policy=%v len=%d closed=%v",
			s.ID(), s.BufferSize(), s.Policy(), s.Len(), s.IsClosed())
	}
	if stream.Block != bus.Block || stream.DropNewest != bus.DropNewest || stream.DropOldest != bus.DropOldest {
		t.Fatal("stream's policies are not bus's")
	}
}

func TestSinkPublish(t *testing.T) {
	var sink sluice.Sink = mustNew(t, "s", stream.WithBufferSize(2))
	s := sink.(*stream.Stream)
	r := s.Reader()
	e := ev(7)
	if !sink.Enabled(context.Background(), e.Type) {
		t.Fatal("open stream not enabled")
	}
	if err := sink.Publish(context.Background(), &e); err != nil {
		t.Fatal(err)
	}
	e.Seq = 99 // the stream kept a copy
	got, err := r.Receive(context.Background())
	if err != nil || got.Seq != 7 {
		t.Fatalf("got %v, %v; want seq 7", got.Seq, err)
	}
	if err := sink.Publish(context.Background(), nil); !isErr(err, stream.ErrInvalid) {
		t.Fatalf("Publish(nil) = %v, want ErrInvalid", err)
	}
	_ = s.Close()
	if sink.Enabled(context.Background(), e.Type) {
		t.Fatal("closed stream enabled")
	}
	if err := sink.Publish(context.Background(), &e); !isErr(err, stream.ErrClosed) {
		t.Fatalf("Publish after close = %v, want ErrClosed", err)
	}
}

// TestCloseRacesBlockedSends closes a stream while many senders are blocked
// in Send and readers are draining. Nothing may panic, every sender must get
// nil or ErrClosed, and every reader must receive exactly the events whose
// Send returned nil, all in the same order.
func TestCloseRacesBlockedSends(t *testing.T) {
	for round := range 20 {
		const senders, readers, size = 64, 3, 4
		s := mustNew(t, fmt.Sprint("race-", round), stream.WithBufferSize(size))
		rs := make([]*stream.Reader, readers)
		for i := range rs {
			rs[i] = s.Reader()
		}
		errs := make([]error, senders)
		var wg sync.WaitGroup
		for i := range senders {
			wg.Go(func() { errs[i] = s.Send(ev(uint64(i))) })
		}
		waitFor(t, "blocked senders", func() bool { return s.Info().BlockedSenders == senders-size })

		got := make([][]uint64, readers)
		ends := make([]error, readers)
		var rwg sync.WaitGroup
		for i, r := range rs {
			rwg.Go(func() { got[i], ends[i] = drain(r) })
		}
		if round%2 == 1 {
			// Let some blocked senders through before closing.
			waitFor(t, "progress", func() bool { return s.Info().BlockedSenders < senders-size })
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wg.Wait()
		rwg.Wait()

		var sent []uint64
		for i, err := range errs {
			switch {
			case err == nil:
				sent = append(sent, uint64(i))
			case isErr(err, stream.ErrClosed):
			default:
				t.Fatalf("sender %d: %v", i, err)
			}
		}
		if len(sent) < size {
			t.Fatalf("only %d sends succeeded; the first %d had room", len(sent), size)
		}
		for i := range readers {
			if !isErr(ends[i], stream.ErrClosed) {
				t.Fatalf("reader %d ended with %v", i, ends[i])
			}
			if !slices.Equal(got[i], got[0]) {
				t.Fatalf("reader %d got %v, reader 0 got %v", i, got[i], got[0])
			}
			sorted := slices.Sorted(slices.Values(got[i]))
			if !slices.Equal(sorted, sent) {
				t.Fatalf("reader %d got %v, successful sends were %v", i, sorted, sent)
			}
		}
		if err := s.Send(ev(1)); !isErr(err, stream.ErrClosed) {
			t.Fatalf("Send after Close = %v", err)
		}
	}
}

// TestCloseUnblocksSenderWithoutReaders: a sender blocked on a full stream
// nobody reads gets ErrClosed from Close.
func TestCloseUnblocksSenderWithoutReaders(t *testing.T) {
	s := mustNew(t, "s", stream.WithBufferSize(1))
	if err := s.Send(ev(0)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Send(ev(1)) }()
	waitFor(t, "blocked sender", func() bool { return s.Info().BlockedSenders == 1 })
	_ = s.Close()
	err := <-done
	var se *stream.Error
	if !errors.As(err, &se) || se.Op != "send" || se.Stream != "s" || !isErr(err, stream.ErrClosed) {
		t.Fatalf("blocked Send = %v, want send ErrClosed", err)
	}
}

func TestReadersEachGetEveryEventInOrder(t *testing.T) {
	const n, readers, producers = 2000, 4, 2
	s := mustNew(t, "s", stream.WithBufferSize(8))
	rs := make([]*stream.Reader, readers)
	for i := range rs {
		rs[i] = s.Reader()
	}
	got := make([][]uint64, readers)
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			for e := range r.All(context.Background()) {
				got[i] = append(got[i], e.Seq)
			}
		})
	}
	var pwg sync.WaitGroup
	for p := range producers {
		pwg.Go(func() {
			for i := range n {
				if err := s.Send(ev(uint64(p*n + i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	pwg.Wait()
	_ = s.Close()
	wg.Wait()
	for i := range readers {
		if len(got[i]) != n*producers {
			t.Fatalf("reader %d got %d events, want %d", i, len(got[i]), n*producers)
		}
		if !slices.Equal(got[i], got[0]) {
			t.Fatalf("readers 0 and %d saw different orders", i)
		}
		// Each producer's events arrive in the order it sent them.
		next := make([]uint64, producers)
		for _, seq := range got[i] {
			p := seq / n
			if seq != p*n+next[p] {
				t.Fatalf("reader %d: producer %d: got %d, want %d", i, p, seq, p*n+next[p])
			}
			next[p]++
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len after drain = %d", s.Len())
	}
}

func TestDropPolicy(t *testing.T) {
	s := mustNew(t, "sess-1", stream.WithBufferSize(3), stream.WithPolicy(stream.DropNewest))
	r := s.Reader()
	for i := range 3 {
		if err := s.Send(ev(uint64(i))); err != nil {
			t.Fatalf("send %d with room: %v", i, err)
		}
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	for i := range 2 {
		err := s.SendWithContext(context.Background(), ev(uint64(10+i)))
		if !isErr(err, stream.ErrFull) {
			t.Fatalf("send to full stream = %v, want ErrFull", err)
		}
		if err.Error() != `stream "sess-1": send: stream full` {
			t.Fatalf("message %q", err)
		}
	}
	if s.Dropped() != 2 || s.Info().Dropped != 2 || s.Len() != 3 {
		t.Fatalf("dropped=%d len=%d, want 2 and 3", s.Dropped(), s.Len())
	}
	if _, err := r.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ev(3)); err != nil {
		t.Fatalf("send after room was made: %v", err)
	}
	if err := s.Send(ev(4)); !isErr(err, stream.ErrFull) {
		t.Fatalf("send when full again = %v", err)
	}
	_ = s.Close()
	got, err := drain(r)
	if !slices.Equal(got, []uint64{1, 2, 3}) || !isErr(err, stream.ErrClosed) {
		t.Fatalf("drained %v, %v", got, err)
	}
	if s.Dropped() != 3 {
		t.Fatalf("dropped = %d, want 3", s.Dropped())
	}
}

// TestDropOldestPolicy: a full DropOldest stream accepts the new event and
// discards the oldest one, which a reader that had not received it skips.
func TestDropOldestPolicy(t *testing.T) {
	s := mustNew(t, "s", stream.WithBufferSize(2), stream.WithPolicy(stream.DropOldest))
	fast, slow := s.Reader(), s.Reader()
	for i := range 4 {
		if err := s.Send(ev(uint64(i))); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if _, err := fast.Receive(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if s.Dropped() != 2 || s.Info().Dropped != 2 || s.Len() != 2 {
		t.Fatalf("dropped=%d len=%d, want 2 and 2", s.Dropped(), s.Len())
	}
	_ = s.Close()
	got, err := drain(slow)
	if !slices.Equal(got, []uint64{2, 3}) || !isErr(err, stream.ErrClosed) {
		t.Fatalf("slow reader drained %v, %v; want [2 3]", got, err)
	}
}

// TestDropSlowestReader: under DropNewest, the slowest reader decides fullness.
func TestDropSlowestReader(t *testing.T) {
	s := mustNew(t, "s", stream.WithBufferSize(2), stream.WithPolicy(stream.DropNewest))
	fast, slow := s.Reader(), s.Reader()
	for i := range 2 {
		_ = s.Send(ev(uint64(i)))
		if _, err := fast.Receive(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Send(ev(2)); !isErr(err, stream.ErrFull) {
		t.Fatalf("send past slow reader = %v, want ErrFull", err)
	}
	_ = slow.Close()
	if s.Len() != 0 {
		t.Fatalf("Len after the slow reader left = %d", s.Len())
	}
	if err := s.Send(ev(2)); err != nil {
		t.Fatal(err)
	}
}

func TestSendWithContextCancel(t *testing.T) {
	s := mustNew(t, "s", stream.WithBufferSize(1))
	if err := s.Send(ev(0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.SendWithContext(ctx, ev(1)) }()
	waitFor(t, "blocked sender", func() bool { return s.Info().BlockedSenders == 1 })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled send = %v", err)
	}
	if err.Error() != `stream "s": send: context canceled` {
		t.Fatalf("message %q", err)
	}
	if s.Len() != 1 || s.Info().BlockedSenders != 0 {
		t.Fatalf("len=%d blocked=%d after cancel", s.Len(), s.Info().BlockedSenders)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	if err := s.SendWithContext(dctx, ev(2)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send past deadline = %v", err)
	}

	// ctx only bounds the wait: a send with room succeeds on a done ctx.
	r := s.Reader()
	if _, err := r.Receive(ctx); err != nil { // buffered: returned despite done ctx
		t.Fatal(err)
	}
	if err := s.SendWithContext(ctx, ev(3)); err != nil {
		t.Fatalf("send with room on done ctx = %v", err)
	}
	// Drop never waits, so it never looks at ctx.
	d := mustNew(t, "d", stream.WithBufferSize(1), stream.WithPolicy(stream.DropNewest))
	_ = d.Send(ev(0))
	if err := d.SendWithContext(ctx, ev(1)); !isErr(err, stream.ErrFull) {
		t.Fatalf("drop on full = %v", err)
	}
}

func TestReceiveContextCancel(t *testing.T) {
	s := mustNew(t, "s")
	r := s.Reader()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := r.Receive(ctx)
		done <- err
	}()
	waitFor(t, "waiting reader", func() bool { return stream.WaitingReaders(s) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled receive = %v", err)
	}
	// The reader is still usable afterwards.
	_ = s.Send(ev(5))
	e, err := r.Receive(context.Background())
	if err != nil || e.Seq != 5 {
		t.Fatalf("got %d, %v", e.Seq, err)
	}
}

func TestCloseDrainsThenEnds(t *testing.T) {
	s := mustNew(t, "s")
	a, b := s.Reader(), s.Reader()
	for i := range 3 {
		_ = s.Send(ev(uint64(i)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !isErr(err, stream.ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	if !s.IsClosed() {
		t.Fatal("IsClosed false after Close")
	}
	for _, r := range []*stream.Reader{a, b} {
		got, err := drain(r)
		if !slices.Equal(got, []uint64{0, 1, 2}) || !isErr(err, stream.ErrClosed) {
			t.Fatalf("drained %v, %v", got, err)
		}
		if _, err := r.Receive(context.Background()); !isErr(err, stream.ErrClosed) {
			t.Fatalf("receive after end = %v", err)
		}
	}
	if err := s.Send(ev(9)); !isErr(err, stream.ErrClosed) {
		t.Fatalf("send after close = %v", err)
	}
}

func TestCloseWakesWaitingReader(t *testing.T) {
	s := mustNew(t, "s")
	r := s.Reader()
	done := make(chan error)
	go func() {
		_, err := r.Receive(context.Background())
		done <- err
	}()
	waitFor(t, "waiting reader", func() bool { return stream.WaitingReaders(s) == 1 })
	_ = s.Close()
	if err := <-done; !isErr(err, stream.ErrClosed) {
		t.Fatalf("waiting receive after close = %v", err)
	}
}

// TestLateReader documents what a reader that joins late sees: every event no
// reader has received yet, then every later one; not what others received.
func TestLateReader(t *testing.T) {
	s := mustNew(t, "s")
	// Events sent before any reader wait for the first one.
	for i := range 3 {
		_ = s.Send(ev(uint64(i)))
	}
	a := s.Reader()
	for range 2 {
		if _, err := a.Receive(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	b := s.Reader() // joins after a received 0 and 1, before anyone got 2
	_ = s.Send(ev(3))
	_ = s.Close()
	gotA, _ := drain(a)
	gotB, _ := drain(b)
	if !slices.Equal(gotA, []uint64{2, 3}) || !slices.Equal(gotB, []uint64{2, 3}) {
		t.Fatalf("a got %v, b got %v; want [2 3] each", gotA, gotB)
	}
	// A reader that joins after everything was delivered sees only the end.
	c := s.Reader()
	if got, err := drain(c); len(got) != 0 || !isErr(err, stream.ErrClosed) {
		t.Fatalf("late reader on drained closed stream: %v, %v", got, err)
	}
}

func TestReaderCloseDetaches(t *testing.T) {
	s := mustNew(t, "s", stream.WithBufferSize(1))
	fast, slow := s.Reader(), s.Reader()
	_ = s.Send(ev(0))
	if _, err := fast.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Send(ev(1)) }() // blocked by slow
	waitFor(t, "blocked sender", func() bool { return s.Info().BlockedSenders == 1 })
	if s.Info().Readers != 2 {
		t.Fatalf("readers = %d", s.Info().Readers)
	}
	if err := slow.Close(); err != nil {
		t.Fatal(err)
	}
	_ = slow.Close() // idempotent
	if err := <-done; err != nil {
		t.Fatalf("sender after slow reader left: %v", err)
	}
	if _, err := slow.Receive(context.Background()); !isErr(err, stream.ErrClosed) {
		t.Fatalf("detached receive = %v", err)
	}
	if e, err := fast.Receive(context.Background()); err != nil || e.Seq != 1 {
		t.Fatalf("fast got %d, %v", e.Seq, err)
	}
	if s.Info().Readers != 1 {
		t.Fatalf("readers = %d", s.Info().Readers)
	}
}

func TestReaderCloseWakesWaiter(t *testing.T) {
	s := mustNew(t, "s")
	r := s.Reader()
	done := make(chan error)
	go func() {
		_, err := r.Receive(context.Background())
		done <- err
	}()
	waitFor(t, "waiting reader", func() bool { return stream.WaitingReaders(s) == 1 })
	_ = r.Close()
	if err := <-done; !isErr(err, stream.ErrClosed) {
		t.Fatalf("receive on detached reader = %v", err)
	}
}

// TestSharedReceive: callers of Stream.Receive (and of one shared Reader)
// split the events between them, each event delivered exactly once.
func TestSharedReceive(t *testing.T) {
	const n, workers = 3000, 4
	s := mustNew(t, "s", stream.WithBufferSize(4))
	own := s.Reader() // a separate reader still sees everything
	var mu sync.Mutex
	seen := map[uint64]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				e, err := s.Receive(context.Background())
				if err != nil {
					if !isErr(err, stream.ErrClosed) {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				seen[e.Seq]++
				mu.Unlock()
			}
		})
	}
	var ownGot []uint64
	var owg sync.WaitGroup
	owg.Go(func() { ownGot, _ = drain(own) })
	// Wait for the default reader to exist before sending, so that it
	// sees every event.
	waitFor(t, "default reader", func() bool { return s.Info().Readers == 2 })
	for i := range n {
		if err := s.Send(ev(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	wg.Wait()
	owg.Wait()
	if len(seen) != n {
		t.Fatalf("shared receivers saw %d distinct events, want %d", len(seen), n)
	}
	for seq, c := range seen {
		if c != 1 {
			t.Fatalf("event %d received %d times", seq, c)
		}
	}
	if len(ownGot) != n {
		t.Fatalf("own reader got %d, want %d", len(ownGot), n)
	}
}

func TestAllStopsOnBreakAndCtx(t *testing.T) {
	s := mustNew(t, "s")
	r := s.Reader()
	for i := range 5 {
		_ = s.Send(ev(uint64(i)))
	}
	var got []uint64
	for e := range r.All(context.Background()) {
		got = append(got, e.Seq)
		if len(got) == 2 {
			break
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for e := range r.All(ctx) {
		got = append(got, e.Seq)
		if len(got) == 5 {
			cancel() // All ends when ctx is done and nothing is buffered
		}
	}
	if !slices.Equal(got, []uint64{0, 1, 2, 3, 4}) || ctx.Err() == nil {
		t.Fatalf("got %v", got)
	}
	_ = s.Close()
}

func TestLenAndInfo(t *testing.T) {
	clk := newFakeClock()
	s := mustNew(t, "s", stream.WithBufferSize(5), stream.WithClock(clk.Now))
	r := s.Reader()
	created := clk.Now()
	clk.Advance(time.Second)
	for i := range 3 {
		_ = s.Send(ev(uint64(i)))
	}
	info := s.Info()
	want := stream.Info{ID: "s", BufferSize: 5, Len: 3, Policy: stream.Block, Readers: 1, LastActivity: created.Add(time.Second)}
	if info != want {
		t.Fatalf("Info = %+v, want %+v", info, want)
	}
	clk.Advance(time.Second)
	_, _ = r.Receive(context.Background())
	if s.Len() != 2 || !s.Info().LastActivity.Equal(created.Add(2*time.Second)) {
		t.Fatalf("after receive: %+v", s.Info())
	}
}

func TestInvalidInput(t *testing.T) {
	ctx := context.Background()
	var nilCtx context.Context
	var zero stream.Stream
	var nilStream *stream.Stream
	var zeroReader stream.Reader
	s := mustNew(t, "s")
	cases := map[string]func() error{
		"empty id":        func() error { _, err := stream.New(""); return err },
		"buffer 0":        func() error { _, err := stream.New("s", stream.WithBufferSize(0)); return err },
		"buffer -1":       func() error { _, err := stream.New("s", stream.WithBufferSize(-1)); return err },
		"bad policy":      func() error { _, err := stream.New("s", stream.WithPolicy(7)); return err },
		"nil clock":       func() error { _, err := stream.New("s", stream.WithClock(nil)); return err },
		"nil option":      func() error { _, err := stream.New("s", nil); return err },
		"nil send ctx":    func() error { return s.SendWithContext(nilCtx, ev(0)) },
		"nil receive ctx": func() error { _, err := s.Reader().Receive(nilCtx); return err },
		"nil Receive ctx": func() error { _, err := s.Receive(nilCtx); return err },
		"nil event":       func() error { return s.Publish(ctx, nil) },
		"zero send":       func() error { return zero.Send(ev(0)) },
		"nil send":        func() error { return nilStream.Send(ev(0)) },
		"nil publish":     func() error { return nilStream.Publish(ctx, nil) },
		"zero close":      func() error { return zero.Close() },
		"zero receive":    func() error { _, err := zero.Receive(ctx); return err },
		"zero reader":     func() error { _, err := zero.Reader().Receive(ctx); return err },
		"zero Reader":     func() error { _, err := zeroReader.Receive(ctx); return err },
		"nil manager":     func() error { _, err := (*stream.Manager)(nil).Create("s"); return err },
		"bad mgr option":  func() error { _, err := stream.NewManager(stream.WithBufferSize(0)); return err },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			err := f()
			var se *stream.Error
			if !isErr(err, stream.ErrInvalid) || !errors.As(err, &se) {
				t.Fatalf("got %v, want *Error wrapping ErrInvalid", err)
			}
		})
	}
	if err := zeroReader.Close(); err != nil {
		t.Fatal(err)
	}
	if nilStream.Enabled(ctx, "x") {
		t.Fatal("nil stream enabled")
	}
}

func TestErrorMessages(t *testing.T) {
	m, _ := stream.NewManager()
	_, err1 := stream.New("", stream.WithBufferSize(1))
	_, err2 := stream.New("sess-1", stream.WithBufferSize(0))
	_, err3 := m.Get("nope")
	_, _ = m.Create("sess-1")
	_, err4 := m.Create("sess-1")
	err5 := m.Close("nope")
	_, err6 := m.Info("nope")
	cases := []struct {
		err      error
		sentinel error
		msg      string
	}{
		{err1, stream.ErrInvalid, `stream "": new: invalid argument: empty stream ID`},
		{err2, stream.ErrInvalid, `stream "sess-1": new: invalid argument: buffer size must be positive, got 0`},
		{err3, stream.ErrNotFound, `stream "nope": get: stream not found`},
		{err4, stream.ErrExists, `stream "sess-1": create: stream already exists`},
		{err5, stream.ErrNotFound, `stream "nope": close: stream not found`},
		{err6, stream.ErrNotFound, `stream "nope": info: stream not found`},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.sentinel) || c.err.Error() != c.msg {
			t.Errorf("got %v, want %q (is %v)", c.err, c.msg, c.sentinel)
		}
		for _, other := range []error{stream.ErrClosed, stream.ErrNotFound, stream.ErrFull, stream.ErrInvalid, stream.ErrExists} {
			if other != c.sentinel && errors.Is(c.err, other) {
				t.Errorf("%v also matches %v", c.err, other)
			}
		}
	}
	m.CloseAll()
}
