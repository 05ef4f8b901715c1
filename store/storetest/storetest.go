// Package storetest is the conformance suite for store.Store
// implementations. Every implementation in this module runs it, and so can
// any other:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store {
//			s, err := mystore.Open(t.TempDir(), opts...)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The open function gets the options the suite needs (a retention policy,
// a fake clock) and must return a new, empty store for each call. Durable
// stores also pass Reopen so that the suite checks what survives Close,
// and every store that can should pass Rewrite, so that the suite checks
// how it reads damaged and outdated rows.
package storetest

import (
	"testing"

	"github.com/sluice-events/sluice/store"
)

// OpenFunc opens a new, empty store with opts applied. It reports failures
// with t.Fatal. The suite closes the store; the function may also register
// its own cleanup.
type OpenFunc func(t *testing.T, opts ...store.Option) store.Store

// ReopenFunc opens again the data of a store that the suite has closed,
// with default options.
type ReopenFunc func(t *testing.T, closed store.Store) store.Store

// Option configures Run.
type Option func(*config)

// RewriteFunc replaces the stored JSON of the event with sequence number seq
// in session sess by data, behind the store's back, as a damaged row or a
// row written by an older release would hold it. It reports failures with
// t.Fatal.
type RewriteFunc func(t *testing.T, st store.Store, sess string, seq uint64, data []byte)

type config struct {
	reopen  ReopenFunc
	rewrite RewriteFunc
}

// Reopen enables the persistence tests: reopen must return a store over the
// same data as the closed one.
func Reopen(fn ReopenFunc) Option { return func(c *config) { c.reopen = fn } }

// Rewrite enables the tests of damaged and undecodable rows.
func Rewrite(fn RewriteFunc) Option { return func(c *config) { c.rewrite = fn } }

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, open OpenFunc, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &suite{open: open, cfg: c}
	t.Run("SeqConcurrentOneSession", s.seqOneSession)
	t.Run("SeqConcurrentManySessions", s.seqManySessions)
	t.Run("BatchAllOrNothing", s.batchAllOrNothing)
	t.Run("Read", s.read)
	t.Run("ReadPaging", s.readPaging)
	t.Run("ReadAll", s.readAll)
	t.Run("ReadAllTail", s.readAllTail)
	t.Run("Head", s.head)
	t.Run("Sessions", s.sessions)
	t.Run("Delete", s.deleteSession)
	t.Run("SessionIDs", s.sessionIDs)
	t.Run("PoisonEvent", s.poisonEvent)
	t.Run("DamagedRow", s.damagedRow)
	t.Run("RetentionByCount", s.retentionByCount)
	t.Run("RetentionByAge", s.retentionByAge)
	t.Run("RetentionBackground", s.retentionBackground)
	t.Run("RoundTrip", s.roundTrip)
	t.Run("Context", s.context)
	t.Run("Closed", s.closed)
	t.Run("Reopen", s.reopen)
}
