package sinktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

type suite struct {
	newSink NewFunc
	cfg     config
}

// base is the time of the suite's events.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// session is the session of every event the suite publishes: a log needs
// one.
const session = "sinktest"

// changedType marks an event the suite changed after publishing it.
const changedType event.Type = "sinktest.changed"

// kinds are the payloads of the suite's events: catalog types of several
// families (text and thinking deltas, which printers and the extraction
// sink treat apart; a tool call; a run) and a type no registry knows.
var kinds = []func(i int) event.Payload{
	func(i int) event.Payload { return event.TextDelta{Text: "hello " + strconv.Itoa(i)} },
	func(i int) event.Payload { return event.ThinkingDelta{Text: "hmm " + strconv.Itoa(i)} },
	func(i int) event.Payload {
		return event.ToolCallStarted{CallID: "call-" + strconv.Itoa(i), Name: "search"}
	},
	func(i int) event.Payload { return event.RunStarted{} },
	func(i int) event.Payload {
		return event.Raw{Name: "sinktest.probe", Data: json.RawMessage(`{"n":` + strconv.Itoa(i) + `}`)}
	},
}

// newEvent returns a valid event of the given kind. Each event has a
// message of its own, so that sinks that group deltas by message (printers,
// the extraction sink) handle it on its own.
func newEvent(kind, i int) event.Event {
	p := kinds[kind%len(kinds)](i)
	id := event.NewID()
	return event.Event{
		ID:   id,
		Type: p.EventType(),
		Time: base.Add(time.Duration(i) * time.Millisecond),
		Meta: event.Meta{
			SessionID: session, RunID: "run-1", TurnID: "turn-1",
			MessageID: "msg-" + id.String(), Provider: "sinktest", Model: "m1",
			Labels: map[string]string{"suite": "sinktest"},
		},
		Payload: p,
	}
}

// samples returns one event of each kind.
func samples() []event.Event {
	out := make([]event.Event, len(kinds))
	for k := range kinds {
		out[k] = newEvent(k, k)
	}
	return out
}

// clone returns a copy of ev that shares nothing with it.
func clone(ev event.Event) event.Event {
	ev.Meta = ev.Meta.Clone()
	if raw, ok := ev.Payload.(event.Raw); ok {
		raw.Data = slices.Clone(raw.Data)
		ev.Payload = raw
	}
	return ev
}

// change changes every field of *ev, as a caller may once Publish returned.
func change(ev *event.Event) {
	ev.ID = uuid.New()
	ev.Type = changedType
	ev.Time = ev.Time.Add(time.Hour)
	ev.Seq = 999
	ev.Meta = event.Meta{
		RunID: "changed", SessionID: "changed", ConversationID: "changed", TurnID: "changed",
		InferenceID: "changed", MessageID: "changed", ToolCallID: "changed", RequestID: "changed",
		ParentID: "changed", Provider: "changed", Model: "changed",
		Labels: map[string]string{"changed": "yes"},
	}
	ev.Payload = event.Raw{Name: changedType, Data: json.RawMessage(`{"changed":true}`)}
}

// wasChanged reports whether ev carries a change made by change.
func wasChanged(ev *event.Event) bool {
	return ev.Type == changedType || ev.Meta.SessionID == "changed" || ev.Meta.MessageID == "changed" ||
		ev.Meta.Labels["changed"] == "yes"
}

func (s *suite) harness(t *testing.T) Harness {
	t.Helper()
	h := s.newSink(t)
	if h.Sink == nil {
		t.Fatal("sinktest: the harness has no Sink")
	}
	if h.Delivered == nil {
		t.Fatal("sinktest: the harness has no Delivered function")
	}
	return h
}

// publish calls Publish and turns a panic into a test failure.
func publish(t *testing.T, ctx context.Context, sink sluice.Sink, ev *event.Event) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Publish(%s) panicked: %v", describe(ev), p)
		}
	}()
	return sink.Publish(ctx, ev)
}

func describe(ev *event.Event) string {
	if ev == nil {
		return "nil"
	}
	return fmt.Sprintf("%s %s", ev.Type, ev.ID)
}

func ids(evs []event.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i := range evs {
		out[i] = evs[i].ID
	}
	return out
}

// split returns the events whose type the sink enables, and the others.
func split(t *testing.T, sink sluice.Sink, evs []event.Event) (on, off []event.Event) {
	t.Helper()
	for _, ev := range evs {
		a, b := sink.Enabled(t.Context(), ev.Type), sink.Enabled(t.Context(), ev.Type)
		if a != b {
			t.Errorf("Enabled(%s) reported %v, then %v", ev.Type, a, b)
		}
		if a {
			on = append(on, ev)
		} else {
			off = append(off, ev)
		}
	}
	return on, off
}

// wait polls Delivered until it holds every event of want, and returns
// what it returned last. It fails the test on a timeout, on an event the
// suite changed after publishing it, and on an event delivered twice.
func (s *suite) wait(t *testing.T, h Harness, want []uuid.UUID) []event.Event {
	t.Helper()
	deadline := time.Now().Add(s.cfg.timeout)
	pause := time.Millisecond
	for {
		got := h.Delivered()
		count := make(map[uuid.UUID]int, len(got))
		for i := range got {
			if wasChanged(&got[i]) {
				t.Fatalf("the sink delivered an event as the caller changed it after Publish returned (%s): it kept the caller's event instead of a copy", describe(&got[i]))
			}
			count[got[i].ID]++
		}
		var missing []uuid.UUID
		for _, id := range want {
			switch n := count[id]; {
			case n == 0:
				missing = append(missing, id)
			case n > 1:
				t.Fatalf("event %s was delivered %d times, want once", id, n)
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d of %d events of enabled types were not delivered (first: %s); %d events were delivered",
				s.cfg.timeout, len(missing), len(want), missing[0], len(got))
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// delivered reports whether id is among evs.
func delivered(evs []event.Event, id uuid.UUID) bool {
	return slices.ContainsFunc(evs, func(e event.Event) bool { return e.ID == id })
}

// enabled checks that Enabled is consistent with Publish.
func (s *suite) enabled(t *testing.T) {
	h := s.harness(t)
	evs := samples()
	on, off := split(t, h.Sink, evs)
	if len(on) == 0 {
		t.Logf("the sink enables none of the suite's types (%d): only checking that it delivers none", len(evs))
	}
	for i := range evs {
		ev := evs[i]
		err := publish(t, t.Context(), h.Sink, &ev)
		if err != nil {
			t.Errorf("Publish(%s) = %v, want nil (Enabled reported %v)", describe(&ev), err, h.Sink.Enabled(t.Context(), ev.Type))
		}
	}
	var got []event.Event
	if len(on) > 0 {
		got = s.wait(t, h, ids(on))
	} else {
		got = h.Delivered()
	}
	for _, ev := range off {
		if delivered(got, ev.ID) {
			t.Errorf("the sink delivered %s, although Enabled reported false for its type", describe(&ev))
		}
	}
}

// noModify checks that Publish leaves the caller's event as it was.
func (s *suite) noModify(t *testing.T) {
	h := s.harness(t)
	for _, ev := range samples() {
		before := clone(ev)
		if err := publish(t, t.Context(), h.Sink, &ev); err != nil {
			t.Errorf("Publish(%s): %v", describe(&ev), err)
		}
		if !reflect.DeepEqual(before, ev) {
			t.Errorf("Publish changed the caller's event:\nbefore %+v\nafter  %+v", before, ev)
		}
	}
}

// noRetain checks that the sink keeps a copy of the caller's event, not
// the event: the suite changes each event as soon as Publish returns, and
// then once it was delivered, and what was delivered must not change.
func (s *suite) noRetain(t *testing.T) {
	h := s.harness(t)
	on, _ := split(t, h.Sink, samples())
	if len(on) == 0 {
		t.Skip("the sink enables none of the suite's types")
	}
	want := ids(on)
	evs := make([]event.Event, len(on))
	for i := range on {
		evs[i] = clone(on[i])
		if err := publish(t, t.Context(), h.Sink, &evs[i]); err != nil {
			t.Fatalf("Publish(%s): %v", describe(&evs[i]), err)
		}
		change(&evs[i])
	}
	before := s.wait(t, h, want)
	// Change the events once more, back to what was published: a sink
	// whose Delivered reads through the caller's pointers shows it now.
	for i := range evs {
		evs[i] = clone(on[i])
	}
	after := h.Delivered()
	if len(after) < len(before) {
		t.Fatalf("Delivered returned %d events, then %d", len(before), len(after))
	}
	for i := range before {
		if !reflect.DeepEqual(before[i], after[i]) {
			t.Errorf("delivered event %d changed after the caller changed its own:\nbefore %+v\nafter  %+v", i, before[i], after[i])
		}
	}
}

// concurrent publishes from many goroutines at once, with concurrent
// calls of Enabled, and checks that every event is delivered once, in the
// order of its goroutine.
func (s *suite) concurrent(t *testing.T) {
	h := s.harness(t)
	var kindsOn []int
	for k, ev := range samples() {
		if h.Sink.Enabled(t.Context(), ev.Type) {
			kindsOn = append(kindsOn, k)
		}
	}
	if len(kindsOn) == 0 {
		t.Skip("the sink enables none of the suite's types")
	}
	type origin struct{ g, i int }
	g, n := s.cfg.goroutines, s.cfg.events
	all := make([][]event.Event, g)
	from := make(map[uuid.UUID]origin, g*n)
	for gi := range all {
		all[gi] = make([]event.Event, n)
		for i := range n {
			ev := newEvent(kindsOn[(gi+i)%len(kindsOn)], i)
			ev.Meta.Labels = map[string]string{"goroutine": strconv.Itoa(gi), "i": strconv.Itoa(i)}
			all[gi][i] = ev
			from[ev.ID] = origin{gi, i}
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	start := make(chan struct{})
	for gi := range all {
		wg.Go(func() {
			<-start
			for i := range all[gi] {
				ev := all[gi][i]
				if !h.Sink.Enabled(t.Context(), ev.Type) {
					mu.Lock()
					errs = append(errs, fmt.Errorf("Enabled(%s) turned false while publishing", ev.Type))
					mu.Unlock()
					return
				}
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							err = fmt.Errorf("panic: %v", p)
						}
					}()
					err = h.Sink.Publish(t.Context(), &ev)
				}()
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("Publish(%s): %w", describe(&ev), err))
					mu.Unlock()
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d goroutines failed: %v", len(errs), errors.Join(errs...))
	}
	var want []uuid.UUID
	for _, evs := range all {
		want = append(want, ids(evs)...)
	}
	got := s.wait(t, h, want)
	last := make(map[int]int, g)
	for gi := range g {
		last[gi] = -1
	}
	for _, ev := range got {
		o, ok := from[ev.ID]
		if !ok {
			continue
		}
		if o.i <= last[o.g] {
			t.Fatalf("goroutine %d's event %d was delivered after its event %d: the events of one goroutine must be delivered in the order it published them", o.g, o.i, last[o.g])
		}
		last[o.g] = o.i
	}
}

// stillWorks checks that the sink delivers an event after a bad one.
func (s *suite) stillWorks(t *testing.T, h Harness, after string) {
	t.Helper()
	on, _ := split(t, h.Sink, samples())
	if len(on) == 0 {
		return
	}
	if err := publish(t, t.Context(), h.Sink, &on[0]); err != nil {
		t.Fatalf("Publish(%s) after %s: %v", describe(&on[0]), after, err)
	}
	s.wait(t, h, ids(on[:1]))
}

// nilEvent checks that a nil event gives an error wrapping
// sluice.ErrNilEvent.
func (s *suite) nilEvent(t *testing.T) {
	h := s.harness(t)
	err := publish(t, t.Context(), h.Sink, nil)
	if !errors.Is(err, sluice.ErrNilEvent) {
		t.Errorf("Publish(nil) = %v, want an error wrapping sluice.ErrNilEvent", err)
	}
	s.stillWorks(t, h, "a nil event")
}

// invalidEvent checks that events that fail event.Validate are accepted
// or refused with an error wrapping event.ErrInvalid, never a panic.
func (s *suite) invalidEvent(t *testing.T) {
	h := s.harness(t)
	bad := map[string]func(*event.Event){
		"no id":         func(ev *event.Event) { ev.ID = uuid.UUID{} },
		"no time":       func(ev *event.Event) { ev.Time = time.Time{} },
		"no payload":    func(ev *event.Event) { ev.Payload = nil },
		"type mismatch": func(ev *event.Event) { ev.Payload = event.Raw{Name: "sinktest.other", Data: json.RawMessage(`{}`)} },
		"empty label":   func(ev *event.Event) { ev.Meta.Labels = map[string]string{"": "x"} },
	}
	for _, name := range slices.Sorted(maps.Keys(bad)) {
		for _, ev := range samples() {
			bad[name](&ev)
			if ev.Validate() == nil {
				t.Fatalf("sinktest: the %s event is valid", name)
			}
			err := publish(t, t.Context(), h.Sink, &ev)
			if err != nil && !errors.Is(err, event.ErrInvalid) {
				t.Errorf("Publish of an invalid event (%s, %s) = %v, want nil or an error wrapping event.ErrInvalid", ev.Type, name, err)
			}
		}
	}
	s.stillWorks(t, h, "invalid events")
}

// endedContext checks that Publish with an ended context either accepts
// and delivers the event or returns an error wrapping the context's error.
func (s *suite) endedContext(t *testing.T) {
	h := s.harness(t)
	on, _ := split(t, h.Sink, samples())
	if len(on) == 0 {
		t.Skip("the sink enables none of the suite's types")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var accepted []event.Event
	for _, ev := range on {
		err := publish(t, ctx, h.Sink, &ev)
		switch {
		case err == nil:
			accepted = append(accepted, ev)
		case !errors.Is(err, context.Canceled):
			t.Errorf("Publish(%s) with a canceled context = %v, want nil or an error wrapping context.Canceled", describe(&ev), err)
		}
	}
	if len(accepted) > 0 {
		s.wait(t, h, ids(accepted))
	}
	s.stillWorks(t, h, "a canceled context")
}

// closed checks that a closed sink refuses events with its ErrClosed.
func (s *suite) closed(t *testing.T) {
	h := s.harness(t)
	if h.Close == nil {
		t.Skip("the sink cannot be closed (Harness.Close is nil)")
	}
	if h.ErrClosed == nil {
		t.Fatal("sinktest: the harness sets Close but not ErrClosed")
	}
	on, _ := split(t, h.Sink, samples())
	if err := h.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, ev := range samples() {
		wanted := slices.ContainsFunc(on, func(e event.Event) bool { return e.Type == ev.Type })
		err := publish(t, t.Context(), h.Sink, &ev)
		switch {
		case err == nil && wanted:
			t.Errorf("Publish(%s) after Close = nil, want an error wrapping %v", describe(&ev), h.ErrClosed)
		case err != nil && !errors.Is(err, h.ErrClosed):
			t.Errorf("Publish(%s) after Close = %v, want an error wrapping %v", describe(&ev), err, h.ErrClosed)
		}
		if got := h.Delivered(); delivered(got, ev.ID) {
			t.Errorf("the sink delivered %s after Close", describe(&ev))
		}
	}
}
