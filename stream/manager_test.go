package stream_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-events/sluice/stream"
)

func mustManager(t testing.TB, opts ...stream.Option) *stream.Manager {
	t.Helper()
	m, err := stream.NewManager(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.CloseAll)
	return m
}

func TestManagerLifecycle(t *testing.T) {
	m := mustManager(t)
	a, err := m.Create("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create("a"); !isErr(err, stream.ErrExists) {
		t.Fatalf("duplicate Create = %v", err)
	}
	if got, err := m.Get("a"); err != nil || got != a {
		t.Fatalf("Get = %p, %v; want %p", got, err, a)
	}
	if _, err := m.Get("b"); !isErr(err, stream.ErrNotFound) {
		t.Fatalf("Get missing = %v", err)
	}
	b, created, err := m.GetOrCreate("b")
	if err != nil || !created {
		t.Fatalf("GetOrCreate new = %v, %v", created, err)
	}
	if again, created, err := m.GetOrCreate("b"); err != nil || created || again != b {
		t.Fatalf("GetOrCreate existing = %p, %v, %v", again, created, err)
	}
	if m.Count() != 2 || !slices.Equal(m.List(), []string{"a", "b"}) {
		t.Fatalf("count=%d list=%v", m.Count(), m.List())
	}

	if err := m.Close("a"); err != nil {
		t.Fatal(err)
	}
	if !a.IsClosed() {
		t.Fatal("Close(id) left the stream open")
	}
	if err := m.Close("a"); !isErr(err, stream.ErrNotFound) {
		t.Fatalf("second Close(id) = %v", err)
	}
	if _, err := m.Get("a"); !isErr(err, stream.ErrNotFound) {
		t.Fatalf("Get after Close = %v", err)
	}

	// A stream closed directly stays listed, as closed, until replaced.
	_ = b.Close()
	if info, err := m.Info("b"); err != nil || !info.Closed {
		t.Fatalf("Info of closed stream = %+v, %v", info, err)
	}
	b2, created, err := m.GetOrCreate("b")
	if err != nil || !created || b2 == b || b2.IsClosed() {
		t.Fatalf("GetOrCreate over a closed stream = %p (old %p), %v, %v", b2, b, created, err)
	}
	_ = b2.Close()
	if b3, err := m.Create("b"); err != nil || b3 == b2 {
		t.Fatalf("Create over a closed stream = %v", err)
	}

	c, _ := m.Create("c")
	m.CloseAll()
	if m.Count() != 0 || len(m.List()) != 0 || !c.IsClosed() {
		t.Fatalf("after CloseAll: count=%d closed=%v", m.Count(), c.IsClosed())
	}
	if _, err := m.Create("c"); err != nil {
		t.Fatalf("Create after CloseAll: %v", err)
	}
}

func TestManagerInvalid(t *testing.T) {
	m := mustManager(t)
	if _, err := m.Create(""); !isErr(err, stream.ErrInvalid) {
		t.Fatalf("Create empty = %v", err)
	}
	if _, _, err := m.GetOrCreate("", stream.WithBufferSize(3)); !isErr(err, stream.ErrInvalid) {
		t.Fatalf("GetOrCreate empty = %v", err)
	}
	if _, err := m.Create("x", stream.WithBufferSize(-2)); !isErr(err, stream.ErrInvalid) {
		t.Fatalf("Create bad size = %v", err)
	}
	if m.Count() != 0 {
		t.Fatal("invalid Create kept a stream")
	}
	var zero stream.Manager
	if _, err := zero.Get("x"); !isErr(err, stream.ErrInvalid) {
		t.Fatalf("zero Manager Get = %v", err)
	}
	if err := zero.Close("x"); !isErr(err, stream.ErrInvalid) {
		t.Fatalf("zero Manager Close = %v", err)
	}
	if _, err := zero.Info("x"); !isErr(err, stream.ErrInvalid) {
		t.Fatalf("zero Manager Info = %v", err)
	}
	if _, _, err := zero.GetOrCreate("x"); !isErr(err, stream.ErrInvalid) {
		t.Fatalf("zero Manager GetOrCreate = %v", err)
	}
	zero.CloseAll()
	if zero.Count() != 0 || zero.List() != nil || zero.CleanupInactive(0) != 0 {
		t.Fatal("zero Manager")
	}
}

func TestManagerDefaults(t *testing.T) {
	m := mustManager(t, stream.WithBufferSize(5), stream.WithPolicy(stream.DropNewest))
	a, _ := m.Create("a")
	b, _ := m.Create("b", stream.WithBufferSize(7))
	c, _, _ := m.GetOrCreate("c", stream.WithPolicy(stream.Block))
	if a.BufferSize() != 5 || a.Policy() != stream.DropNewest ||
		b.BufferSize() != 7 || b.Policy() != stream.DropNewest ||
		c.BufferSize() != 5 || c.Policy() != stream.Block {
		t.Fatalf("a=%d/%v b=%d/%v c=%d/%v", a.BufferSize(), a.Policy(), b.BufferSize(), b.Policy(), c.BufferSize(), c.Policy())
	}
}

func TestGetOrCreateConcurrent(t *testing.T) {
	for round := range 20 {
		m := mustManager(t)
		id := fmt.Sprint("sess-", round)
		const n = 32
		streams := make([]*stream.Stream, n)
		created := make([]bool, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				s, c, err := m.GetOrCreate(id)
				if err != nil {
					t.Error(err)
				}
				streams[i], created[i] = s, c
			})
		}
		close(start)
		wg.Wait()
		creators := 0
		for i := range n {
			if created[i] {
				creators++
			}
			if streams[i] != streams[0] {
				t.Fatalf("caller %d got a different stream", i)
			}
		}
		if creators != 1 || m.Count() != 1 {
			t.Fatalf("%d callers created the stream; count %d", creators, m.Count())
		}
	}
}

func TestCleanupInactive(t *testing.T) {
	clk := newFakeClock()
	m := mustManager(t, stream.WithClock(clk.Now), stream.WithBufferSize(1))
	ctx := context.Background()
	const threshold = time.Minute

	idle, _ := m.Create("idle")
	looked, _ := m.Create("looked-up")
	sent, _ := m.Create("recent-send")
	recv, _ := m.Create("recent-receive")
	blocked, _ := m.Create("blocked-sender")
	gone, _ := m.Create("already-closed")
	_ = gone.Close()

	recvReader := recv.Reader()
	_ = recv.Send(ev(0))
	done := make(chan error, 1)
	_ = blocked.Send(ev(0))
	go func() { done <- blocked.Send(ev(1)) }()
	waitFor(t, "blocked sender", func() bool { return blocked.Info().BlockedSenders == 1 })

	clk.Advance(30 * time.Second)
	_ = sent.Send(ev(0))
	if _, err := recvReader.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	// Look-ups are not activity.
	_, _ = m.Get("looked-up")
	_, _ = m.Info("looked-up")
	_ = m.List()
	_ = looked.Len()

	clk.Advance(threshold) // 90s after creation, 60s after the recent activity
	n := m.CleanupInactive(threshold)
	if n != 3 {
		t.Fatalf("CleanupInactive = %d, want 3 (idle, looked-up, already-closed); left %v", n, m.List())
	}
	want := []string{"blocked-sender", "recent-receive", "recent-send"}
	if got := m.List(); !slices.Equal(got, want) {
		t.Fatalf("left %v, want %v", got, want)
	}
	for _, s := range []*stream.Stream{idle, looked} {
		if !s.IsClosed() {
			t.Fatalf("%s not closed", s.ID())
		}
	}
	for _, s := range []*stream.Stream{sent, recv, blocked} {
		if s.IsClosed() {
			t.Fatalf("busy stream %s closed", s.ID())
		}
	}
	select {
	case err := <-done:
		t.Fatalf("blocked sender returned %v during cleanup", err)
	default:
	}

	// Activity exactly threshold ago still counts as recent.
	if n := m.CleanupInactive(threshold); n != 0 {
		t.Fatalf("second cleanup closed %d", n)
	}
	clk.Advance(time.Nanosecond)
	// Now recent-send and recent-receive are idle; the blocked sender keeps
	// its stream alive however old its activity.
	if n := m.CleanupInactive(threshold); n != 2 || !slices.Equal(m.List(), []string{"blocked-sender"}) {
		t.Fatalf("cleanup closed %d, left %v", n, m.List())
	}
	// Once the sender gets through, the stream is active from then on.
	r := blocked.Reader()
	if _, err := r.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("blocked sender: %v", err)
	}
	if n := m.CleanupInactive(threshold); n != 0 {
		t.Fatalf("cleanup closed a just-active stream")
	}
	clk.Advance(threshold + 1)
	if n := m.CleanupInactive(-time.Hour); n != 1 || m.Count() != 0 {
		t.Fatalf("final cleanup closed %d, count %d", n, m.Count())
	}
	// A reader of a cleaned-up stream drains and sees the end.
	if e, err := r.Receive(ctx); err != nil || e.Seq != 1 {
		t.Fatalf("drain after cleanup: %d, %v", e.Seq, err)
	}
	if _, err := r.Receive(ctx); !isErr(err, stream.ErrClosed) {
		t.Fatalf("end after cleanup: %v", err)
	}
}

// TestCleanupRacesSends: a stream that is sent to concurrently with cleanup
// is either left open or closed before the send, which then fails cleanly.
func TestCleanupRacesSends(t *testing.T) {
	clk := newFakeClock()
	m := mustManager(t, stream.WithClock(clk.Now), stream.WithPolicy(stream.DropNewest))
	s, _ := m.Create("s")
	r := s.Reader()
	clk.Advance(time.Hour)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 1000 {
			err := s.Send(ev(uint64(i)))
			if err == nil {
				_, _ = r.Receive(context.Background())
			} else if !isErr(err, stream.ErrClosed) {
				t.Error(err)
				return
			}
		}
	})
	m.CleanupInactive(time.Minute)
	wg.Wait()
	if s.IsClosed() == (m.Count() == 1) {
		t.Fatalf("closed=%v but count=%d", s.IsClosed(), m.Count())
	}
}

func TestManagerInfo(t *testing.T) {
	clk := newFakeClock()
	m := mustManager(t, stream.WithClock(clk.Now))
	s, _ := m.Create("sess-1", stream.WithBufferSize(10), stream.WithPolicy(stream.DropNewest))
	created := clk.Now()
	r := s.Reader()
	_ = s.Reader()
	clk.Advance(time.Second)
	for i := range 4 {
		_ = s.Send(ev(uint64(i)))
	}
	_, _ = r.Receive(context.Background())
	info, err := m.Info("sess-1")
	if err != nil {
		t.Fatal(err)
	}
	want := stream.Info{
		ID: "sess-1", BufferSize: 10, Len: 4, Policy: stream.DropNewest, Readers: 2,
		LastActivity: created.Add(time.Second),
	}
	if info != want {
		t.Fatalf("Info = %+v\nwant   %+v", info, want)
	}
	_ = m.Close("sess-1")
	if _, err := m.Info("sess-1"); !isErr(err, stream.ErrNotFound) {
		t.Fatalf("Info after Close = %v", err)
	}
	if info := s.Info(); !info.Closed {
		t.Fatal("Info.Closed false after Close")
	}
	for _, id := range []string{"c", "a", "b"} {
		_, _ = m.Create(id)
	}
	if m.Count() != 3 || !slices.Equal(m.List(), []string{"a", "b", "c"}) {
		t.Fatalf("count %d list %v", m.Count(), m.List())
	}
}
