// Package storetest is the conformance suite for store.Store
// implementations. Every implementation in this module runs it, and so can
// any other:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, c store.Config) store.Store {
//			s, err := mystore.Open(t.TempDir(), mystore.WithRetention(c.Retention),
//				mystore.WithClock(c.Clock), mystore.WithLogger(c.Logger))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The open function gets the common configuration the suite needs (a
// retention policy, a fake clock), complete with defaults, which it passes
// on through the backend's own options, and must return a new, empty store
// for each call. Durable
// stores also pass Reopen so that the suite checks what survives Close,
// and every store that can should pass Rewrite, so that the suite checks
// how it reads damaged and outdated rows; a store whose data has an older
// layout passes WithLegacyReopen, so that the suite checks its migration.
package storetest

import (
	"errors"
	"testing"

	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/store"
)

// OpenFunc opens a new, empty store configured by c: its Retention, Clock
// and Logger, given to the backend's WithRetention, WithClock and
// WithLogger options. It reports failures with t.Fatal. The suite closes
// the store; the function may also register its own cleanup.
type OpenFunc func(t *testing.T, c store.Config) store.Store

// ReopenFunc opens again the data of a store that the suite has closed,
// with default options.
type ReopenFunc func(t *testing.T, closed store.Store) store.Store

// Option configures Run. A nil option, or one given a nil function, fails
// the test.
type Option func(*config) error

// RewriteFunc replaces the stored JSON of the event with sequence number seq
// in session sess by data, behind the store's back, as a damaged row or a
// row written by an older release would hold it. It reports failures with
// t.Fatal.
type RewriteFunc func(t *testing.T, st store.Store, sess string, seq uint64, data []byte)

type config struct {
	reopen  ReopenFunc
	rewrite RewriteFunc
	legacy  ReopenFunc
}

// WithLegacyReopen enables the test of a store's migration to
// SessionInfo.LastPos: legacy must turn the data of the closed store into
// the layout of a release that did not keep LastPos, then open it again
// with default options, so that the store migrates it.
func WithLegacyReopen(legacy ReopenFunc) Option {
	return func(c *config) error {
		if legacy == nil {
			return errors.New("storetest: nil legacy reopen function")
		}
		c.legacy = legacy
		return nil
	}
}

// WithReopen enables the persistence tests: reopen must return a store
// over the same data as the closed one.
func WithReopen(fn ReopenFunc) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("storetest: nil reopen function")
		}
		c.reopen = fn
		return nil
	}
}

// WithRewrite enables the tests of damaged and undecodable rows.
func WithRewrite(fn RewriteFunc) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("storetest: nil rewrite function")
		}
		c.rewrite = fn
		return nil
	}
}

// Run runs the whole suite as subtests of t. A nil open function or an
// invalid option fails t at once.
func Run(t *testing.T, open OpenFunc, opts ...Option) {
	var c config
	if err := option.Apply(&c, opts, store.ErrInvalid); err != nil {
		t.Fatal(err)
	}
	if open == nil {
		t.Fatal("storetest: nil open function")
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
	t.Run("SessionsByActivity", s.sessionsByActivity)
	t.Run("SessionsByActivityRetention", s.sessionsByActivityRetention)
	t.Run("SessionsByActivityFarApart", s.sessionsByActivityFarApart)
	t.Run("LastPosMigration", s.lastPosMigration)
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
	t.Run("DedupBatch", s.dedupBatch)
	t.Run("DedupAcross", s.dedupAcross)
	t.Run("DedupConcurrent", s.dedupConcurrent)
	t.Run("DedupReopen", s.dedupReopen)
	t.Run("DedupDeleted", s.dedupDeleted)
	t.Run("DedupReport", s.dedupReport)
}
