package stream

import (
	"slices"
	"sync"
	"time"
)

// Manager keeps streams by ID: one per session. It is safe for concurrent
// use. The zero Manager is not usable; make one with NewManager.
type Manager struct {
	defaults []Option
	now      func() time.Time

	mu      sync.Mutex
	streams map[string]*Stream
}

// NewManager returns a Manager whose streams are configured by opts, which
// Create and GetOrCreate may override stream by stream. A WithClock option also
// sets the clock CleanupInactive measures idleness with. A bad option gives
// ErrInvalid.
func NewManager(opts ...Option) (*Manager, error) {
	c := defaultConfig()
	if err := c.apply(opts); err != nil {
		return nil, newError("", "new", err)
	}
	now := c.now
	if now == nil {
		now = time.Now
	}
	return &Manager{
		defaults: slices.Clone(opts),
		now:      now,
		streams:  make(map[string]*Stream),
	}, nil
}

func (m *Manager) config(id string, op string, opts []Option) (config, error) {
	c := defaultConfig()
	if err := c.apply(m.defaults); err != nil {
		return c, newError(id, op, err)
	}
	if err := c.apply(opts); err != nil {
		return c, newError(id, op, err)
	}
	if id == "" {
		return c, invalid(id, op, "empty stream ID")
	}
	return c, nil
}

// Create makes and keeps a new stream with the given ID, configured by the
// manager's defaults and then opts. It returns ErrExists if the manager
// holds an open stream with that ID; a closed one is replaced.
func (m *Manager) Create(id string, opts ...Option) (*Stream, error) {
	if m == nil || m.streams == nil {
		return nil, invalid(id, "create", "nil or zero Manager")
	}
	c, err := m.config(id, "create", opts)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.streams[id]; ok && !s.IsClosed() {
		return nil, newError(id, "create", ErrExists)
	}
	s := newStream(id, c)
	m.streams[id] = s
	return s, nil
}

// Get returns the stream with the given ID, open or closed, or ErrNotFound.
// Looking a stream up does not count as activity.
func (m *Manager) Get(id string) (*Stream, error) {
	if m == nil || m.streams == nil {
		return nil, invalid(id, "get", "nil or zero Manager")
	}
	m.mu.Lock()
	s, ok := m.streams[id]
	m.mu.Unlock()
	if !ok {
		return nil, newError(id, "get", ErrNotFound)
	}
	return s, nil
}

// GetOrCreate returns the open stream with the given ID, or makes one as
// Create does (opts apply only then); created reports which. Of many
// concurrent calls with one ID, exactly one creates the stream.
func (m *Manager) GetOrCreate(id string, opts ...Option) (s *Stream, created bool, err error) {
	if m == nil || m.streams == nil {
		return nil, false, invalid(id, "create", "nil or zero Manager")
	}
	c, err := m.config(id, "create", opts)
	if err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.streams[id]; ok && !s.IsClosed() {
		return s, false, nil
	}
	s = newStream(id, c)
	m.streams[id] = s
	return s, true, nil
}

// Close closes the stream with the given ID and forgets it. It returns
// ErrNotFound if the manager holds no such stream.
func (m *Manager) Close(id string) error {
	if m == nil || m.streams == nil {
		return invalid(id, "close", "nil or zero Manager")
	}
	m.mu.Lock()
	s, ok := m.streams[id]
	delete(m.streams, id)
	m.mu.Unlock()
	if !ok {
		return newError(id, "close", ErrNotFound)
	}
	_ = s.Close() // ErrClosed if it was closed already: it is closed either way
	return nil
}

// CloseAll closes every stream and forgets them all. The manager stays
// usable.
func (m *Manager) CloseAll() {
	if m == nil || m.streams == nil {
		return
	}
	m.mu.Lock()
	all := m.streams
	m.streams = make(map[string]*Stream)
	m.mu.Unlock()
	for _, s := range all {
		_ = s.Close()
	}
}

// CleanupInactive closes and forgets every stream that is idle: no send or
// receive in more than threshold (by the manager's clock) and no sender
// blocked in it. Streams already closed are forgotten too. Look-ups are not
// activity. A negative threshold counts as zero. It returns how many streams
// it forgot.
//
// The check and the close are one step under the stream's lock, so a stream
// that becomes busy concurrently is either left alone or closed before the
// send, which then gets ErrClosed.
func (m *Manager) CleanupInactive(threshold time.Duration) int {
	if m == nil || m.streams == nil {
		return 0
	}
	threshold = max(threshold, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	n := 0
	for id, s := range m.streams {
		if s.closeIfIdle(now, threshold) {
			delete(m.streams, id)
			n++
		}
	}
	return n
}

// List returns the IDs of the streams the manager holds, sorted.
func (m *Manager) List() []string {
	if m == nil || m.streams == nil {
		return nil
	}
	m.mu.Lock()
	ids := make([]string, 0, len(m.streams))
	for id := range m.streams {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// Info returns a snapshot of the stream with the given ID, or ErrNotFound.
func (m *Manager) Info(id string) (Info, error) {
	if m == nil || m.streams == nil {
		return Info{}, invalid(id, "info", "nil or zero Manager")
	}
	m.mu.Lock()
	s, ok := m.streams[id]
	m.mu.Unlock()
	if !ok {
		return Info{}, newError(id, "info", ErrNotFound)
	}
	return s.Info(), nil
}

// Count returns how many streams the manager holds.
func (m *Manager) Count() int {
	if m == nil || m.streams == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.streams)
}
