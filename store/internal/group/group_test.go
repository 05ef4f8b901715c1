package group

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBad = errors.New("bad request")

// fake commits in memory; a group holding a "bad" event fails whole.
type fake struct {
	mu     sync.Mutex
	seq    uint64
	groups []int
}

func (f *fake) commit(reqs []*Request) error {
	for _, r := range reqs {
		for _, e := range r.Events {
			if e.Meta.SessionID == "bad" {
				return errBad
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, len(reqs))
	for _, r := range reqs {
		for i := range r.Events {
			f.seq++
			r.Seqs[i] = f.seq
		}
	}
	return nil
}

func req(sess string) *Request {
	return &Request{Events: []event.Event{{Meta: event.Meta{SessionID: sess}}}, Seqs: make([]uint64, 1)}
}

// hold blocks the writer with a job until the returned func is called.
func hold(t *testing.T, w *Writer) func() {
	release, started := make(chan struct{}), make(chan struct{})
	go w.Do(context.Background(), &Request{Job: func() error { close(started); <-release; return nil }})
	<-started
	return func() { close(release) }
}

func TestGroupAndFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{}
		w := Start(f.commit, 100)
		defer w.Close()
		release := hold(t, w)
		var wg sync.WaitGroup
		reqs := make([]*Request, 10)
		errs := make([]error, 10)
		for i := range reqs {
			sess := "good"
			if i == 4 {
				sess = "bad"
			}
			reqs[i] = req(sess)
			wg.Go(func() { errs[i] = w.Do(context.Background(), reqs[i]) })
		}
		synctest.Wait() // every request is queued behind the job
		release()
		wg.Wait()
		for i, err := range errs {
			switch {
			case i == 4 && !errors.Is(err, errBad):
				t.Fatalf("bad request: %v", err)
			case i != 4 && err != nil:
				t.Fatalf("request %d failed with the bad one: %v", i, err)
			case i != 4 && reqs[i].Events[0].Seq == 0:
				t.Fatalf("request %d: Seq not set", i)
			}
		}
		if reqs[4].Events[0].Seq != 0 {
			t.Fatal("failed request got a Seq")
		}
	})
}

func TestGrouping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{}
		w := Start(f.commit, 100)
		defer w.Close()
		release := hold(t, w)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := w.Do(context.Background(), req("s")); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait()
		release()
		wg.Wait()
		if len(f.groups) >= 20 {
			t.Fatalf("20 queued requests took %d commits; want them grouped", len(f.groups))
		}
	})
}

func TestCancelBeforeTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{}
		w := Start(f.commit, 100)
		defer w.Close()
		release := hold(t, w)
		ctx, cancel := context.WithCancel(context.Background())
		r := req("s")
		done := make(chan error)
		go func() { done <- w.Do(ctx, r) }()
		synctest.Wait() // r is queued behind the job
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Do: %v", err)
		}
		release()
		if err := w.Do(context.Background(), req("s")); err != nil {
			t.Fatal(err)
		}
		if f.seq != 1 {
			t.Fatalf("canceled request was committed (%d events committed)", f.seq)
		}
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{}
		w := Start(f.commit, 100)
		release := hold(t, w)
		done := make(chan error)
		go func() { done <- w.Do(context.Background(), req("s")) }()
		synctest.Wait() // the request is queued behind the job
		// Release the job only once Close is waiting for the writer: in
		// the bubble, time moves only when every goroutine is blocked.
		go func() { time.Sleep(time.Second); release() }()
		w.Close()
		if err := <-done; !errors.Is(err, store.ErrClosed) {
			t.Fatalf("queued request at Close: %v", err)
		}
		if err := w.Do(context.Background(), req("s")); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Do after Close: %v", err)
		}
		w.Close()
	})
}

// TestAfter: the writer calls after once per group of appends, failed
// ones included, once every request of the group has its answer (after
// here waits until the caller's Do has returned), and not after a job.
func TestAfter(t *testing.T) {
	f := &fake{}
	returned := make(chan struct{}, 1)
	calls, late := 0, 0
	w := StartAfter(f.commit, func() {
		calls++
		select {
		case <-returned:
		case <-time.After(10 * time.Second):
			late++
		}
	}, 100)
	defer w.Close()
	for _, c := range []struct {
		sess string
		want error
	}{{"a", nil}, {"bad", errBad}} {
		err := w.Do(context.Background(), req(c.sess))
		returned <- struct{}{}
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.sess, err, c.want)
		}
	}
	for range 2 { // the second job runs after the first one's after, if any
		if err := w.Do(context.Background(), &Request{Job: func() error { return nil }}); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 2 || late != 0 {
		t.Fatalf("after called %d times, %d before its group was answered; want 2, 0", calls, late)
	}
}
