package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// demoTally is a sink that counts the demo's events and adds up what its
// provider calls used and cost, for the closing summary.
type demoTally struct {
	mu     sync.Mutex
	start  time.Time
	events int
	calls  int
	usage  event.Usage
	cost   float64
}

// Enabled implements sluice.Sink: it counts every event.
func (t *demoTally) Enabled(context.Context, event.Type) bool { return true }

// Publish implements sluice.Sink.
func (t *demoTally) Publish(_ context.Context, ev *event.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.events == 0 {
		t.start = time.Now()
	}
	t.events++
	if p, ok := event.As[event.ProviderCallCompleted](*ev); ok {
		t.calls++
		t.usage.InputTokens += p.Usage.InputTokens
		t.usage.OutputTokens += p.Usage.OutputTokens
		t.cost += p.Cost
	}
	return nil
}

// demoFrame writes what surrounds the demo's events: a header, what was
// recorded, and a closing summary with the next commands to try. Only the
// text format gets a header and a summary; a recording is reported with
// every format (to standard error with json and yaml).
type demoFrame struct {
	w     io.Writer
	text  bool // the events are printed as text: frame them
	color bool
	db    string
}

const (
	frameRule = "────────────────────────────────────────────────────────────────────────"
	ansiBold  = "\x1b[1m"
	ansiFaint = "\x1b[2m"
	ansiOff   = "\x1b[0m"
)

// style wraps s in an ANSI style when coloring.
func (f demoFrame) style(code, s string) string {
	if !f.color {
		return s
	}
	return code + s + ansiOff
}

// header introduces the run.
func (f demoFrame) header(session string) {
	if !f.text {
		return
	}
	fmt.Fprintln(f.w, f.style(ansiBold, "Sluice demo: an agent answers a weather question with one tool call, event by event."))
	fmt.Fprintln(f.w, f.style(ansiFaint, "Session "+session+". Every line below is one typed event (text deltas stream in place)."))
	fmt.Fprintln(f.w, f.style(ansiFaint, frameRule))
}

// recorded reports what the run left in the database.
func (f demoFrame) recorded(si store.SessionInfo) {
	fmt.Fprintf(f.w, "Recorded session %s: %d events in %s (replay it: sluice replay --db %s --session %s).\n",
		si.ID, si.Count, f.db, f.db, si.ID)
}

// summary closes the run with totals and the next commands to try.
func (f demoFrame) summary(t *demoTally, session string, served bool) {
	if !f.text {
		return
	}
	t.mu.Lock()
	line := fmt.Sprintf("Done: %d events in %s; %d provider calls used %d input and %d output tokens, cost $%.4f.",
		t.events, time.Since(t.start).Round(time.Millisecond), t.calls, t.usage.InputTokens, t.usage.OutputTokens, t.cost)
	t.mu.Unlock()
	fmt.Fprintln(f.w, f.style(ansiFaint, frameRule))
	fmt.Fprintln(f.w, f.style(ansiBold, line))
	if served {
		return // the server's own lines follow
	}
	db := f.db
	if db == "" {
		db = "demo.db"
	}
	var b strings.Builder
	b.WriteString("Next, try:\n")
	row := func(cmd, what string) { fmt.Fprintf(&b, "  %-46s %s\n", cmd, f.style(ansiFaint, what)) }
	row("sluice demo --format json | sluice validate -", "one JSON event per line, checked")
	if f.db == "" {
		row("sluice demo --db "+db, "record the run in a SQLite file")
	}
	row("sluice sessions --db "+db, "list the recorded sessions")
	row("sluice replay --db "+db, "replay the latest one (--speed 2, --types message.>)")
	row("sluice demo --serve", "serve the run; follow it with sluice tail or curl")
	row("sluice catalog", "every event type, with its fields")
	fmt.Fprint(f.w, b.String())
}
