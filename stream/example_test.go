package stream_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/stream"
)

// Two readers of one stream each receive every event, in order; after Close
// they drain what was buffered and then see ErrClosed.
func Example() {
	s, _ := stream.New("sess-1", stream.WithBufferSize(8))
	ui, logger := s.Reader(), s.Reader()

	for _, text := range []string{"Hel", "lo"} {
		_ = s.Send(event.New(event.TextDelta{Text: text}))
	}
	_ = s.Close()

	for _, r := range []*stream.Reader{ui, logger} {
		for {
			ev, err := r.Receive(context.Background())
			if errors.Is(err, stream.ErrClosed) {
				fmt.Println("end")
				break
			}
			d, _ := event.As[event.TextDelta](ev)
			fmt.Printf("%q ", d.Text)
		}
	}
	// Output:
	// "Hel" "lo" end
	// "Hel" "lo" end
}

// With the DropNewest policy a full buffer refuses the event at once and counts it.
func ExamplePolicy() {
	s, _ := stream.New("sess-1", stream.WithBufferSize(1), stream.WithPolicy(stream.DropNewest))
	fmt.Println(s.Send(event.New(event.TextDelta{Text: "a"})))
	err := s.Send(event.New(event.TextDelta{Text: "b"}))
	fmt.Println(err)
	fmt.Println(errors.Is(err, stream.ErrFull), s.Dropped())
	// Output:
	// <nil>
	// stream "sess-1": send: stream full
	// true 1
}

// Range over a reader's events; the loop ends when the stream is closed and
// drained.
func ExampleReader_All() {
	s, _ := stream.New("sess-1")
	r := s.Reader()
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev := range r.All(context.Background()) {
			d, _ := event.As[event.TextDelta](ev)
			fmt.Print(d.Text)
		}
		fmt.Println()
	})
	for _, text := range []string{"one ", "two ", "three"} {
		_ = s.Send(event.New(event.TextDelta{Text: text}))
	}
	_ = s.Close()
	wg.Wait()
	// Output:
	// one two three
}

// A Manager keeps one stream per session.
func ExampleManager() {
	m, _ := stream.NewManager(stream.WithBufferSize(16))
	defer m.CloseAll()

	s, created, _ := m.GetOrCreate("sess-1")
	fmt.Println(created)
	_, created, _ = m.GetOrCreate("sess-1")
	fmt.Println(created)

	_ = s.Send(event.New(event.TextDelta{Text: "hi"}))
	info, _ := m.Info("sess-1")
	fmt.Println(info.ID, info.BufferSize, info.Len, info.Closed)

	_, err := m.Create("sess-1")
	fmt.Println(err)
	fmt.Println(m.List(), m.Count())
	// Output:
	// true
	// false
	// sess-1 16 1 false
	// stream "sess-1": create: stream already exists
	// [sess-1] 1
}

// CleanupInactive closes streams without recent sends or receives. The
// clock is injected so that the example needs no sleeping.
func ExampleManager_CleanupInactive() {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	m, _ := stream.NewManager(stream.WithClock(func() time.Time { return now }))
	defer m.CloseAll()

	idle, _ := m.Create("idle")
	busy, _ := m.Create("busy")
	now = now.Add(10 * time.Minute)
	_ = busy.Send(event.New(event.TextDelta{Text: "still here"}))
	now = now.Add(time.Minute)

	fmt.Println(m.CleanupInactive(5*time.Minute), idle.IsClosed(), busy.IsClosed(), m.List())
	// Output:
	// 1 true false [busy]
}
