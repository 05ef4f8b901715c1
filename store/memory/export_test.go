package memory

// Rewrite replaces the stored JSON of one event, for the conformance
// suite's tests of damaged rows.
func Rewrite(s *Store, sess string, seq uint64, data []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions[sess]; ss != nil {
		for _, r := range ss.recs {
			if r.seq == seq {
				r.data = data
				return true
			}
		}
	}
	return false
}
