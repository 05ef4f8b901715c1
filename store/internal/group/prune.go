package group

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/sluice-events/sluice/store"
)

// PruneChunk is the most events one retention transaction removes, so that
// appends are not held up for long.
const PruneChunk = 5000

// Prune is a store's Prune: unless the store is closed or r keeps
// everything, it runs once on the writer, again and again while it reports
// more to remove, with at most PruneChunk events per call (see Repeat).
func (w *Writer) Prune(ctx context.Context, closed *atomic.Bool, r store.Retention, once func(r store.Retention, chunk int) (n int64, more bool, err error)) (int64, error) {
	if closed.Load() {
		return 0, store.ErrClosed
	}
	if !r.Enabled() {
		return 0, ctx.Err()
	}
	return w.Repeat(ctx, func() (int64, bool, error) { return once(r, PruneChunk) })
}

// Delete is a store's Delete: unless id is not a valid session ID or the
// store is closed, it runs once(id) as one job on the writer, between
// groups of appends.
func (w *Writer) Delete(ctx context.Context, closed *atomic.Bool, id string, once func(id string) error) error {
	if err := store.CheckSessionID(id); err != nil {
		return err
	}
	if closed.Load() {
		return store.ErrClosed
	}
	_, err := w.Repeat(ctx, func() (int64, bool, error) { return 0, false, once(id) })
	return err
}

// Trim is the order of one retention transaction of at most chunk events:
// first the oldest events beyond r.MaxEvents of each session (byCount),
// then, if that left room, events older than r.MaxAge by the clock now
// (byAge, given the cutoff in Unix nanoseconds). Each remover is given the
// most it may remove and returns how many it removed; more reports whether
// there may be more to remove.
func Trim(r store.Retention, now func() time.Time, chunk int,
	byCount func(limit int) (int64, error), byAge func(cutoff int64, limit int) (int64, error)) (n int64, more bool, err error) {
	if r.MaxEvents > 0 {
		k, err := byCount(chunk)
		if err != nil {
			return 0, false, err
		}
		n += k
		more = k == int64(chunk)
	}
	if r.MaxAge > 0 && !more {
		k, err := byAge(now().Add(-r.MaxAge).UnixNano(), chunk-int(n))
		if err != nil {
			return 0, false, err
		}
		n += k
		more = n == int64(chunk)
	}
	return n, more, nil
}
