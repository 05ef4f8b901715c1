package tui

import (
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sluice-events/sluice/event"
)

// benchModel is a 120×50 screen with a session open that has n events:
// user messages of a few lines each.
func benchModel(b *testing.B, n int) *model {
	m, err := newModel(noSource{})
	if err != nil {
		b.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 50})
	feed(m, allStream, "s1", 1, event.Info{})
	m.open("s1")
	for i := range n {
		feed(m, m.sess.gen, "s1", uint64(i+1), event.MessageCreated{Role: "user", Content: fmt.Sprint("message ", i, " with a few words to wrap on the screen, and a few more to make it wrap once or twice at 120 columns wide.")})
	}
	return m
}

// A frame after one new event (the baseline: a frame with nothing new).
func BenchmarkFrame(b *testing.B) {
	for _, n := range []int{100, 5000} {
		for _, pane := range []string{"conversation", "events"} {
			m := benchModel(b, n)
			if pane == "events" {
				press(m, "tab")
			}
			b.Run(fmt.Sprintf("%s/%d/unchanged", pane, n), func(b *testing.B) {
				for b.Loop() {
					m.screenText()
				}
			})
			b.Run(fmt.Sprintf("%s/%d/new-event", pane, n), func(b *testing.B) {
				for b.Loop() {
					m.dirty = true
					m.screenText()
				}
			})
		}
	}
}
