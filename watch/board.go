// Package watch folds events into what a live screen shows: a board of
// sessions (tokens, cost, status, last activity), the conversation of one
// session as it streams, and a bounded log of raw events with a type
// filter. It knows nothing of terminals; package watch/tui draws it and
// `sluice watch` runs it.
package watch

import (
	"cmp"
	"slices"
	"time"

	"github.com/sluice-events/sluice/event"
)

// Status is what a session is doing, as far as its events tell.
type Status string

// The statuses a session goes through.
const (
	// StatusUnknown: no event said yet (a session known only from a list).
	StatusUnknown Status = ""
	// StatusRunning: a run, pipeline, provider call or tool call started
	// and has not finished.
	StatusRunning Status = "running"
	// StatusDone: the run or pipeline completed.
	StatusDone Status = "done"
	// StatusFailed: the run, pipeline or a provider call failed.
	StatusFailed Status = "failed"
	// StatusInterrupted: a stream was interrupted or the run stopped.
	StatusInterrupted Status = "interrupted"
)

// Summary is one session's row on the board.
type Summary struct {
	// ID is the session ID.
	ID string
	// Events is how many of the session's events were seen (or, before
	// any was, how many the store holds).
	Events uint64
	// LastSeq is the highest sequence number seen.
	LastSeq uint64
	// Usage is the tokens of the session's finished provider calls plus
	// the latest report of the call streaming now.
	Usage event.Usage
	// Cost is the cost in US dollars of the finished provider calls whose
	// price is known.
	Cost float64
	// CostUnknown is true when some provider call had no known price, so
	// Cost is a lower bound.
	CostUnknown bool
	// Status is what the session is doing.
	Status Status
	// Model is the model of the latest provider call.
	Model string
	// Errors counts failures and provider stream errors.
	Errors int
	// First and Last are the times of the first and the latest event.
	First, Last time.Time

	live  event.Usage // the streaming call's latest report
	known uint64      // the LastSeq a store reported: events up to it are counted
}

// Board folds the events of many sessions into one Summary each. The zero
// Board is ready to use; it is not safe for concurrent use.
type Board struct {
	byID map[string]*Summary
}

// Known adds a session the store reports before any of its events is
// folded (the CLI lists sessions first, so the board is not empty while
// the history streams in). Call it before the session's events are added:
// events up to lastSeq are then not counted again. It does nothing for a
// session whose events reached lastSeq already.
func (b *Board) Known(id string, count, lastSeq uint64, first, last time.Time) {
	s := b.get(id)
	if lastSeq <= s.LastSeq {
		return
	}
	s.Events += count // the events up to lastSeq are not counted again
	s.known, s.LastSeq = lastSeq, lastSeq
	if s.First.IsZero() || first.Before(s.First) {
		s.First = first
	}
	if last.After(s.Last) {
		s.Last = last
	}
}

func (b *Board) get(id string) *Summary {
	if b.byID == nil {
		b.byID = make(map[string]*Summary)
	}
	s := b.byID[id]
	if s == nil {
		s = &Summary{ID: id}
		b.byID[id] = s
	}
	return s
}

// Add folds ev into its session's summary. Events without a session are
// ignored.
func (b *Board) Add(ev *event.Event) {
	if ev.Meta.SessionID == "" {
		return
	}
	s := b.get(ev.Meta.SessionID)
	if ev.Seq == 0 || ev.Seq > s.known {
		s.Events++
	}
	if ev.Seq > s.LastSeq {
		s.LastSeq = ev.Seq
	}
	if s.First.IsZero() || (!ev.Time.IsZero() && ev.Time.Before(s.First)) {
		s.First = ev.Time
	}
	if ev.Time.After(s.Last) {
		s.Last = ev.Time
	}
	switch p := ev.Payload.(type) {
	case event.RunStarted, event.PipelineStarted, event.ProviderCallStarted, event.ToolCallStarted, event.MessageStarted:
		s.Status = StatusRunning
		if pc, ok := p.(event.ProviderCallStarted); ok {
			s.Model = pc.Model
		}
	case event.UsageReported:
		if p.Usage.Cumulative {
			s.live = p.Usage
		} else {
			s.live = s.live.Add(p.Usage)
		}
	case event.ProviderCallCompleted:
		s.Usage = s.Usage.Add(p.Usage)
		s.Usage.Cumulative = false
		s.live = event.Usage{}
		if p.CostUnknown {
			s.CostUnknown = true
		} else {
			s.Cost += p.Cost
		}
		if p.Model != "" {
			s.Model = p.Model
		}
	case event.ProviderCallFailed:
		s.Errors++
		s.live = event.Usage{}
		s.Status = StatusFailed
	case event.StreamError, event.ToolCallFailed:
		s.Errors++
	case event.PipelineFailed, event.RunFailed:
		s.Errors++
		s.Status = StatusFailed
	case event.RunCompleted, event.PipelineCompleted:
		if s.Status != StatusFailed {
			s.Status = StatusDone
		}
	case event.StreamInterrupted, event.RunStopped:
		s.Status = StatusInterrupted
	}
}

// Tokens returns the summary's input and output tokens, with the report of
// the call streaming now.
func (s Summary) Tokens() (in, out int64) {
	u := s.Usage.Add(s.live)
	return u.InputTokens, u.OutputTokens
}

// Len returns the number of sessions on the board.
func (b *Board) Len() int { return len(b.byID) }

// Get returns the summary of session id.
func (b *Board) Get(id string) (Summary, bool) {
	s, ok := b.byID[id]
	if !ok {
		return Summary{}, false
	}
	return *s, true
}

// Sessions returns the summaries, the most recently active first (ties by
// ID).
func (b *Board) Sessions() []Summary {
	out := make([]Summary, 0, len(b.byID))
	for _, s := range b.byID {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(x, y Summary) int {
		if c := y.Last.Compare(x.Last); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return out
}
