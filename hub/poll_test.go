package hub_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
)

// TestPollNotify follows a session the way a server holds idle streams:
// Poll what is ready, Notify for a call back, and no goroutine meanwhile.
func TestPollNotify(t *testing.T) {
	h := newHub(t, memStore(t), hub.WithPoll(0))
	ctx := context.Background()
	a, _ := h.Subscribe(hub.Selector{Session: "s"}, 0)
	b, _ := h.Subscribe(hub.Selector{}, 0)
	defer a.Close()
	defer b.Close()
	for _, f := range []*hub.Feed{a, b} {
		if items, err := f.Poll(ctx, nil); err != nil || len(items) != 0 {
			t.Fatalf("Poll of an empty log = %v, %v", items, err)
		}
	}
	called := make(chan string, 2)
	if !a.Notify(func() { called <- "a" }) || !b.Notify(func() { called <- "b" }) {
		t.Fatal("Notify refused with nothing ready")
	}
	appendN(t, h, "s", 1)
	got := map[string]bool{}
	for range 2 {
		select {
		case who := <-called:
			got[who] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("call backs after an append: %v", got)
		}
	}
	ia, err := a.Poll(ctx, nil)
	if err != nil || len(ia) != 1 || ia[0].Cursor != 1 {
		t.Fatalf("Poll after the call back = %+v, %v", ia, err)
	}
	ib, _ := b.Poll(ctx, nil)
	if len(ib) != 1 {
		t.Fatalf("all-sessions Poll = %+v", ib)
	}
	// Both feeds read the window: one encoding, made once, shared.
	ja, _ := ia[0].JSON(nil)
	jb, _ := ib[0].JSON(nil)
	want, _ := ia[0].Event.AppendJSON(nil)
	if string(ja) != string(want) || &ja[0] != &jb[0] {
		t.Errorf("window JSON: %s (shared %v), want %s", ja, &ja[0] == &jb[0], want)
	}
	// A feed in the past reads the store and encodes on demand.
	old, _ := h.Subscribe(hub.Selector{Session: "s"}, 0)
	defer old.Close()
	appendN(t, h, "s", 1)
	io, _ := old.Poll(ctx, nil)
	if len(io) == 0 {
		t.Fatal("history Poll returned nothing")
	}
	jo, _ := io[0].JSON(make([]byte, 0, 512))
	if string(jo) != string(want) {
		t.Errorf("history JSON %s, want %s", jo, want)
	}
	// Close cancels a pending Notify.
	if it, err := a.Next(ctx); err != nil || it.Cursor != 2 {
		t.Fatalf("second event: %v, %v", it, err)
	}
	if items, _ := a.Poll(ctx, nil); len(items) != 0 {
		t.Fatalf("Poll after everything was read: %v", items)
	}
	if !a.Notify(func() { called <- "late" }) {
		t.Fatal("Notify refused")
	}
	a.Close()
	appendN(t, h, "s", 1)
	if _, err := a.Poll(ctx, nil); !errors.Is(err, hub.ErrClosed) {
		t.Errorf("Poll of a closed feed = %v", err)
	}
	select {
	case who := <-called:
		t.Errorf("a closed feed was called back (%s)", who)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestHubCloseWakesNotified(t *testing.T) {
	h, err := hub.New(memStore(t))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := h.Subscribe(hub.Selector{Session: "s"}, 0)
	if items, err := f.Poll(context.Background(), nil); err != nil || len(items) != 0 {
		t.Fatal(items, err)
	}
	called := make(chan struct{})
	f.Notify(func() { close(called) })
	h.Close(context.Background())
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not call the feed back")
	}
	if _, err := f.Poll(context.Background(), nil); !errors.Is(err, hub.ErrClosed) {
		t.Errorf("Poll after Close = %v", err)
	}
}

func TestOptions(t *testing.T) {
	bad := map[string]hub.Option{
		"WithBatch(0)":      hub.WithBatch(0),
		"WithPoll(-1)":      hub.WithPoll(-1),
		"WithWindow(0, 1)":  hub.WithWindow(0, 1),
		"WithWindow(1, -1)": hub.WithWindow(1, -1),
		"WithCoalesce(-1)":  hub.WithCoalesce(-time.Second),
		"WithLogger(nil)":   hub.WithLogger(nil),
		"WithBus(nil)":      hub.WithBus(nil),
	}
	for name, o := range bad {
		if _, err := hub.New(memStore(t), o); !errors.Is(err, hub.ErrInvalid) {
			t.Errorf("New with %s = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := hub.New(nil); !errors.Is(err, hub.ErrInvalid) {
		t.Errorf("New(nil) = %v", err)
	}
	var st store.Store = memStore(t)
	h, err := hub.New(st, hub.WithBatch(1), hub.WithPoll(0), hub.WithWindow(1, 1), hub.WithCoalesce(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	h.Close(context.Background())
}
