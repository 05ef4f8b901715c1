package watch

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/sluice-events/sluice/event"
)

// DefaultLogSize is how many events a Log keeps when NewLog is given 0.
const DefaultLogSize = 5000

// Line is one raw event in a Log.
type Line struct {
	// Seq is the event's sequence number (0 if it was not logged).
	Seq uint64
	// Time is when the event happened.
	Time time.Time
	// Type is the event's type.
	Type event.Type
	// Payload is the payload as compact JSON.
	Payload string
}

// Log keeps the latest raw events of a session, at most a fixed number:
// the oldest go first.
type Log struct {
	lines []Line // ring
	start int    // index of the oldest line
	n     int
	total uint64
}

// NewLog returns a log that keeps the latest size events (DefaultLogSize
// if size is 0 or less).
func NewLog(size int) *Log {
	if size <= 0 {
		size = DefaultLogSize
	}
	return &Log{lines: make([]Line, size)}
}

// Add appends ev, forgetting the oldest event when the log is full.
func (l *Log) Add(ev *event.Event) {
	payload, err := json.Marshal(ev.Payload)
	if err != nil {
		payload = []byte(strconv.Quote(err.Error()))
	}
	ln := Line{Seq: ev.Seq, Time: ev.Time, Type: ev.Type, Payload: string(payload)}
	l.total++
	if l.n < len(l.lines) {
		l.lines[(l.start+l.n)%len(l.lines)] = ln
		l.n++
		return
	}
	l.lines[l.start] = ln
	l.start = (l.start + 1) % len(l.lines)
}

// Total returns how many events were added, including those forgotten.
func (l *Log) Total() uint64 { return l.total }

// Lines returns the kept events matching p, oldest first; a zero Pattern
// matches every type.
func (l *Log) Lines(p event.Pattern) []Line {
	out := make([]Line, 0, l.n)
	for i := range l.n {
		ln := l.lines[(l.start+i)%len(l.lines)]
		if p.IsZero() || p.Match(ln.Type) {
			out = append(out, ln)
		}
	}
	return out
}
