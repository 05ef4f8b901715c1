package store

import "context"

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
