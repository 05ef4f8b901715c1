package sqlite

// WithMerge sets how many events a recent table holds before the writer
// merges it into events (default mergeRows) and about how many it moves
// per transaction (default sliceRows), so that tests can keep every event
// in recent, merge after every commit, or merge in tiny slices.
func WithMerge(at, slice int64) Option {
	return func(c *config) error { c.merge, c.slice = at, slice; return nil }
}
