// Package group is the single-writer group commit that the durable stores
// share: appends from many goroutines queue up, and one writer goroutine
// commits as many as are waiting in one transaction.
package group

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// Request is one queued Append call, or one job (such as a retention pass)
// that must run on the writer.
type Request struct {
	// Events are the events to store; the writer sets their Seq only when
	// the whole group has committed (through Assign).
	Events []event.Event
	// Data[i] is the JSON encoding of Events[i], made by the caller.
	Data [][]byte
	// Job, if set, makes this a job request: the writer runs it alone.
	Job func() error

	// Seqs holds the sequence numbers the writer assigned, applied to
	// Events once the transaction committed.
	Seqs []uint64
	// Dups holds the indexes of the events that were duplicates, in
	// increasing order (see Duplicate).
	Dups []int

	state atomic.Int32
	done  chan error
	buf   *[]byte
}

const (
	pending int32 = iota
	taken
	canceled
)

// Commit stores the requests (all append requests) in one transaction and
// fills each request's Seqs. It returns an error if nothing was stored.
type Commit func(reqs []*Request) error

// Writer is the writer goroutine with its queue.
type Writer struct {
	reqs      chan *Request
	quit      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	commit    Commit
	after     func()
	maxEvents int
	jobs      uint64 // jobs run so far; used only on the writer goroutine
}

// Start starts a writer that groups up to maxEvents events per commit.
func Start(commit Commit, maxEvents int) *Writer {
	return StartAfter(commit, nil, maxEvents)
}

// StartAfter is Start with after, which the writer calls after each group
// of appends it committed (or failed to) has been answered, before it takes
// the next: work that the next appends may wait for but the answered ones
// must not, such as moving rows between tables. A nil after does nothing.
func StartAfter(commit Commit, after func(), maxEvents int) *Writer {
	w := &Writer{reqs: make(chan *Request), quit: make(chan struct{}), commit: commit, after: after, maxEvents: maxEvents}
	w.wg.Add(1)
	go w.run()
	return w
}

// Do queues r and waits for its outcome. If ctx ends before the writer
// has taken r, Do returns ctx's error and r is never stored; once taken, Do
// waits for the commit, so that an error always means "not stored". After
// Close, Do returns store.ErrClosed.
func (w *Writer) Do(ctx context.Context, r *Request) error {
	r.done = make(chan error, 1)
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return store.ErrClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(pending, canceled) {
			return ctx.Err()
		}
		return <-r.done
	}
}

// Duplicate records that Events[i] is stored already with sequence number
// seq: a Commit calls it, in increasing order of i, instead of assigning
// Seqs[i] a new number.
func (r *Request) Duplicate(i int, seq uint64) {
	r.Seqs[i] = seq
	r.Dups = append(r.Dups, i)
}

// Append is a store's AppendDups (see store.DupReporter): it validates and
// encodes events, and queues them unless closed is set (the store's Close
// has begun), in which case it returns store.ErrClosed. An empty batch is
// a no-op.
func (w *Writer) Append(ctx context.Context, events []event.Event, closed *atomic.Bool) ([]int, error) {
	r := &Request{Events: events}
	if err := r.Encode(); err != nil {
		return nil, err
	}
	defer r.Release()
	if len(events) == 0 {
		return nil, nil
	}
	if closed.Load() {
		return nil, store.ErrClosed
	}
	if err := w.Do(ctx, r); err != nil {
		return nil, err
	}
	return r.Dups, nil
}

// Repeat runs once as a job on the writer, again and again while it
// reports more work, and returns the sum of the counts it reports. It is
// a store's Prune: each call of once is one short transaction, so that
// appends are held up only briefly between them.
func (w *Writer) Repeat(ctx context.Context, once func() (n int64, more bool, err error)) (int64, error) {
	var total int64
	for {
		var n int64
		var more bool
		err := w.Do(ctx, &Request{Job: func() (err error) {
			n, more, err = once()
			return err
		}})
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// Close stops the writer after the group in flight; requests still queued
// fail with store.ErrClosed.
func (w *Writer) Close() {
	w.closeOnce.Do(func() { close(w.quit) })
	w.wg.Wait()
}

// Jobs reports how many jobs the writer has run. Only the Commit function
// may call it (it runs on the writer goroutine): a commit that caches what
// it read from the database between transactions compares it with the
// count it saw last, and forgets its cache when a job (a retention pass, a
// deletion) may have changed the rows behind it.
func (w *Writer) Jobs() uint64 { return w.jobs }

// maxYields bounds how often the writer lets other goroutines run while it
// waits for the callers of its previous group to append again.
const maxYields = 64

func (w *Writer) run() {
	defer w.wg.Done()
	var batch []*Request
	var held *Request // a job or an overflowing request for the next round
	last := 0         // the requests of the previous group
	for {
		batch = batch[:0]
		if held != nil {
			batch, held = append(batch, held), nil
		} else {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			case <-w.quit:
				return
			}
		}
		if batch[0].Job == nil {
			n := len(batch[0].Events)
			yields := 0
		drain:
			for n < w.maxEvents {
				select {
				case r := <-w.reqs:
					if r.Job != nil || n+len(r.Events) > w.maxEvents {
						held = r
						break drain
					}
					batch = append(batch, r)
					n += len(r.Events)
				default:
					// The callers of the previous group, woken by its
					// commit, are likely to append again at once (a
					// stream of one event per call): let them run before
					// committing with fewer of them. Yielding costs
					// nothing when no goroutine is runnable.
					if len(batch) < last && yields < maxYields {
						yields++
						runtime.Gosched()
						continue
					}
					break drain
				}
			}
		}
		live := batch[:0]
		for _, r := range batch {
			if r.state.CompareAndSwap(pending, taken) {
				live = append(live, r)
			}
		}
		if len(live) == 0 {
			continue
		}
		select {
		case <-w.quit:
			for _, r := range live {
				r.done <- store.ErrClosed
			}
			if held != nil && held.state.CompareAndSwap(pending, taken) {
				held.done <- store.ErrClosed
			}
			return
		default:
		}
		last = len(live)
		w.handle(live)
	}
}

func (w *Writer) handle(reqs []*Request) {
	if reqs[0].Job != nil {
		w.jobs++
		reqs[0].done <- reqs[0].Job()
		return
	}
	err := w.try(reqs)
	if err != nil && len(reqs) > 1 && !errors.Is(err, store.ErrCorrupt) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		// One request may have failed the group: commit each alone. (Not
		// when the commit ran out of time or was canceled by Close: each
		// alone would too.)
		for _, r := range reqs {
			w.finish(r, w.try([]*Request{r}))
		}
	} else {
		for _, r := range reqs {
			w.finish(r, err)
		}
	}
	if w.after != nil {
		w.after()
	}
}

// try commits reqs, each without the duplicates a failed try recorded.
func (w *Writer) try(reqs []*Request) error {
	for _, r := range reqs {
		r.Dups = r.Dups[:0]
	}
	return w.commit(reqs)
}

func (w *Writer) finish(r *Request, err error) {
	if err == nil {
		for i := range r.Events {
			r.Events[i].Seq = r.Seqs[i]
		}
	}
	r.done <- err
}
