// Package page holds the read path that the store implementations share:
// the paging iterator behind Read and ReadAll, the decoding of stored
// events (with the fallback to event.Raw), the split of a type pattern
// into what SQL can match, and the scan of a session row.
package page

import (
	"context"
	"iter"
	"strings"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// Fetch reads one page: at most size rows whose key (sequence number or
// position) is greater than after, in key order. It appends the items that
// match the query to buf and returns buf, the number of rows it read
// (matching or not) and the key of the last row it read. Items returned
// with an error are yielded before the error, so that a reader sees every
// event before a damaged one.
type Fetch[T any] func(ctx context.Context, after uint64, size int, buf []T) (items []T, rows int, last uint64, err error)

// Pager describes one iteration.
type Pager[T any] struct {
	// After is the key to start after.
	After uint64
	// Limit stops after this many items; 0 means no limit.
	Limit int
	// Size is the most rows Fetch reads at a time.
	Size int
	// Filtered says that Fetch drops rows that do not match (a filter
	// applied in Go), so that a page cannot be cut to the rest of Limit.
	Filtered bool
	// Check, if set, runs before each page; an error ends the iteration.
	Check func(ctx context.Context) error
	// Fetch reads a page.
	Fetch Fetch[T]
}

// Iter returns the iterator over the pages of p. It holds nothing (no
// lock, no transaction) while the caller's loop body runs.
func Iter[T any](ctx context.Context, p Pager[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		after, n := p.After, 0
		buf := make([]T, 0, min(p.Size, 64))
		for {
			err := ctx.Err()
			if err == nil && p.Check != nil {
				err = p.Check(ctx)
			}
			if err != nil {
				yield(zero, err)
				return
			}
			size := p.Size
			if p.Limit > 0 && !p.Filtered {
				size = min(size, p.Limit-n)
			}
			items, rows, last, err := p.Fetch(ctx, after, size, buf[:0])
			for i := range items {
				if !yield(items[i], nil) {
					return
				}
				if n++; p.Limit > 0 && n >= p.Limit {
					return
				}
			}
			if err != nil {
				yield(zero, err)
				return
			}
			if rows < size {
				return
			}
			after = last
			clear(items) // drop references to yielded events
			buf = items
		}
	}
}

// TypeFilter splits a query's type pattern for SQL: exact is the type to
// compare for equality (an exact pattern), prefix is the literal start of
// a wildcard pattern (possibly empty), and inGo reports that rows must
// still be matched against the pattern in Go. The zero Pattern gives all
// zero values.
func TypeFilter(p event.Pattern) (exact, prefix string, inGo bool) {
	if p.IsZero() {
		return "", "", false
	}
	text := p.String()
	if p.Exact() {
		return text, "", false
	}
	return "", text[:strings.IndexAny(text, "*>")], true
}

// ScanSession reads a session row of the columns name, count, last_seq,
// first_time, last_time (times in Unix nanoseconds) and last_pos through
// scan (the Scan method of the driver's rows).
func ScanSession(scan func(dest ...any) error) (store.SessionInfo, error) {
	var si store.SessionInfo
	var count, lastSeq, first, last, lastPos int64
	if err := scan(&si.ID, &count, &lastSeq, &first, &last, &lastPos); err != nil {
		return si, err
	}
	si.Count, si.LastSeq, si.LastPos = uint64(count), uint64(lastSeq), uint64(lastPos)
	if count > 0 {
		si.First = time.Unix(0, first).UTC()
	}
	si.Last = time.Unix(0, last).UTC()
	return si, nil
}

// Rows is what Each needs of a query's result rows (pgx.Rows, *sql.Rows).
type Rows interface {
	Next() bool
	Err() error
}

// Each calls fn for each of rows until fn returns an error, and reports
// how many rows it saw. The caller closes rows.
func Each[R Rows](rows R, fn func(R) error) (int, error) {
	n := 0
	for rows.Next() {
		n++
		if err := fn(rows); err != nil {
			return n, err
		}
	}
	return n, rows.Err()
}

// Spare returns the n smallest positive numbers that are not in used, in
// increasing order: the last positions a schema migration gives sessions
// that retention emptied before the store kept their last position, so
// that no two sessions share one.
func Spare(used map[int64]bool, n int) []int64 {
	out := make([]int64, 0, n)
	for next := int64(1); len(out) < n; next++ {
		if !used[next] {
			out = append(out, next)
		}
	}
	return out
}
