package stream_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/stream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// ev returns a test event whose Seq field identifies it.
func ev(n uint64) event.Event {
	e := event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: "s"})
	e.Seq = n
	return e
}

// mustNew makes a stream or fails the test.
func mustNew(t testing.TB, id string, opts ...stream.Option) *stream.Stream {
	t.Helper()
	s, err := stream.New(id, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", id, err)
	}
	return s
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline. It synchronises with goroutines; it asserts nothing about time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

// drain receives from r until an error and returns the Seqs and the error.
func drain(r *stream.Reader) ([]uint64, error) {
	var got []uint64
	for {
		e, err := r.Receive(context.Background())
		if err != nil {
			return got, err
		}
		got = append(got, e.Seq)
	}
}

// fakeClock is a settable clock for idle-cleanup tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func isErr(err, target error) bool { return errors.Is(err, target) }
