package sqlite

// WithMergeAt sets how many events the recent table holds before the
// writer moves them into events (default mergeRows), so that tests can
// keep every event in recent, or merge after every commit.
func WithMergeAt(n int64) Option {
	return func(c *config) error { c.merge = n; return nil }
}
