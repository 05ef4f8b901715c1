package instrument

import (
	"context"
	"sync"

	"github.com/sluice-events/sluice/event"
)

// Totals are what a pipeline's stages reported.
type Totals struct {
	// Usage sums the token counts reported with AddUsage.
	Usage event.Usage
	// Cost sums the costs reported, in US dollars.
	Cost float64
	// Messages is the conversation's length, as last reported with
	// SetMessageCount.
	Messages int
}

// Tally collects the cost, tokens and message count that the stages of a
// running Pipeline report. Pipeline.Run puts one in the context; stages
// reach it through AddUsage and SetMessageCount. It is safe for concurrent
// use, and a nil *Tally ignores reports.
type Tally struct {
	mu sync.Mutex
	t  Totals
}

type tallyKey struct{}

// TallyFrom returns the Tally of the pipeline running in ctx, or nil (a
// Tally that ignores reports) when there is none or the pipeline is not
// instrumented.
func TallyFrom(ctx context.Context) *Tally {
	t, _ := ctx.Value(tallyKey{}).(*Tally)
	return t
}

// AddUsage adds the token counts and cost of one model call to the tally
// of the pipeline running in ctx. Pass each call's own totals (not
// cumulative stream reports).
func AddUsage(ctx context.Context, u event.Usage, cost float64) {
	TallyFrom(ctx).add(Totals{Usage: u, Cost: cost})
}

// SetMessageCount records the conversation's length, in messages, for the
// pipeline running in ctx.
func SetMessageCount(ctx context.Context, n int) {
	if t := TallyFrom(ctx); t != nil {
		t.mu.Lock()
		t.t.Messages = n
		t.mu.Unlock()
	}
}

// Totals returns the totals so far.
func (t *Tally) Totals() Totals {
	if t == nil {
		return Totals{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.t
}

// add adds v's usage and cost; a non-zero message count replaces t's.
func (t *Tally) add(v Totals) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.t.Usage.Add(v.Usage)
	u.Cumulative = false
	t.t.Usage = u
	t.t.Cost += v.Cost
	if v.Messages != 0 {
		t.t.Messages = v.Messages
	}
}
