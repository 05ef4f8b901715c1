package store

import (
	"context"

	"github.com/sluice-events/sluice/event"
)

// Watcher is implemented by a Store whose log can be shared (by several
// processes or machines) and that can tell a reader at once when any
// writer appends to it, so that readers need not poll. The hub uses it to
// deliver events appended through other nodes within milliseconds;
// store/jetstream (from JetStream itself) and store/postgres (from
// LISTEN/NOTIFY) implement it.
type Watcher interface {
	// Watch calls fn after events were appended to the log by any writer
	// (this store, another store over the same log, another machine),
	// until ctx ends; it then returns ctx's error. It also calls fn once
	// when it starts or resumes watching (after a lost connection), since
	// appends may have been missed meanwhile, so that a reader who then
	// reads after its last position misses nothing. Calls may be
	// coalesced (one call for many appends) or spurious (a call without
	// new events); fn runs on the watching goroutine and must return
	// quickly. Watch returns an error if watching cannot start or fails
	// for good (the store was closed).
	Watch(ctx context.Context, fn func()) error
}

// DupReporter is implemented by a Store that tells which events of an
// append were duplicates (see "Exactly once"). The hub uses it to hand
// only new events to its bus; every store of Sluice implements it.
type DupReporter interface {
	// AppendDups is Append that also returns the indexes, in increasing
	// order, of the events that were duplicates: already stored in their
	// session, or earlier in the same call. Their Seq is set as Append
	// sets it, but this call did not store them. It returns nil when
	// every event was new, and nil with any error.
	AppendDups(ctx context.Context, events []event.Event) (dups []int, err error)
}
