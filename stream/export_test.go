package stream

// WaitingReaders reports how many goroutines wait in Receive on s; tests
// use it to synchronise with a reader that must be blocked.
func WaitingReaders(s *Stream) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}
