package tui_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/watch/tui"
	"github.com/sluice-events/sluice/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newHub(t *testing.T) *hub.Hub {
	t.Helper()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := hub.New(st, hub.WithCoalesce(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func publish(t *testing.T, h *hub.Hub, session string, n int) {
	t.Helper()
	for i := range n {
		ev := event.New(event.Info{Message: fmt.Sprint(i)}, event.Meta{SessionID: session})
		if err := h.Publish(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
	}
}

// follow collects n events of a session from src.
func follow(t *testing.T, src tui.Source, session string, after uint64, n int) []uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cursors []uint64
	errEnough := errors.New("enough")
	err := src.Follow(ctx, session, after, func(c uint64, ev event.Event) error {
		if session != "" && ev.Meta.SessionID != session {
			t.Errorf("event of session %q", ev.Meta.SessionID)
		}
		cursors = append(cursors, c)
		if len(cursors) == n {
			return errEnough
		}
		return nil
	}, nil)
	if !errors.Is(err, errEnough) {
		t.Fatalf("Follow: %v after %v", err, cursors)
	}
	return cursors
}

// Both sources list sessions and follow one session or all of them, from a
// cursor.
func TestSources(t *testing.T) {
	h := newHub(t)
	publish(t, h, "a", 3)
	publish(t, h, "b/1", 2) // a "/" in an ID stays escaped in the URL
	srv, err := server.New(context.Background(), server.Config{Hub: h, Logger: slog.New(slog.DiscardHandler),
		Keys: []server.Key{{Name: "r", Secret: "s3cret", Scopes: []server.Scope{server.ScopeRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close(context.Background())

	for _, src := range []tui.Source{tui.HubSource{Hub: h, Name: "mem"}, tui.ServerSource{URL: hs.URL + "/", Key: "s3cret"}} {
		t.Run(src.String(), func(t *testing.T) {
			infos, err := src.Sessions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(infos) != 2 || infos[0].ID != "a" || infos[0].Count != 3 || infos[1].ID != "b/1" || infos[1].LastSeq != 2 {
				t.Errorf("sessions: %+v", infos)
			}
			if got := follow(t, src, "b/1", 0, 2); fmt.Sprint(got) != "[1 2]" {
				t.Errorf("session cursors %v", got)
			}
			if got := follow(t, src, "a", 1, 2); fmt.Sprint(got) != "[2 3]" {
				t.Errorf("session cursors after 1: %v", got)
			}
			if got := follow(t, src, "", 3, 2); fmt.Sprint(got) != "[4 5]" {
				t.Errorf("log positions after 3: %v", got)
			}
		})
	}

	if got := (tui.ServerSource{URL: "http://me:secret@host:7420"}).String(); got != "http://me:xxxxx@host:7420" {
		t.Errorf("String() = %q: shows the password", got)
	}
	var se *wire.StatusError
	if _, err := (tui.ServerSource{URL: hs.URL, Key: "wrong"}).Sessions(context.Background()); !errors.As(err, &se) || se.Code != 401 {
		t.Errorf("wrong key: %v", err)
	}
	if err := (tui.ServerSource{URL: hs.URL}).Follow(context.Background(), "a", 0, func(uint64, event.Event) error { return nil }, nil); !errors.As(err, &se) || se.Code != 401 {
		t.Errorf("no key: %v", err)
	}
	for _, u := range []string{"", "ftp://x", "http://", "http://x/?q=1", "::"} {
		if _, err := (tui.ServerSource{URL: u}).Sessions(context.Background()); !errors.Is(err, tui.ErrURL) {
			t.Errorf("URL %q: %v", u, err)
		}
	}
}

// Run ends cleanly when its context ends, and leaves no goroutine behind.
func TestRunStopsWithItsContext(t *testing.T) {
	h := newHub(t)
	publish(t, h, "a", 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tui.Run(ctx, tui.HubSource{Hub: h, Name: "mem"},
			tui.WithProgramOptions(tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(80, 24), tea.WithoutSignals()))
	}()
	time.Sleep(50 * time.Millisecond) // let it start following
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	if err := tui.Run(context.Background(), nil); !errors.Is(err, tui.ErrInvalid) {
		t.Errorf("nil source: %v", err)
	}
	if err := tui.Run(context.Background(), tui.HubSource{}, tui.WithLogSize(-1)); !errors.Is(err, tui.ErrInvalid) {
		t.Errorf("bad option: %v", err)
	}
}

// flaky delivers two events of every session, then fails; it records the
// cursor each Follow starts after.
type flaky struct {
	starts chan uint64
}

func (flaky) String() string { return "flaky" }
func (flaky) Sessions(context.Context) ([]store.SessionInfo, error) {
	return nil, nil
}
func (f flaky) Follow(ctx context.Context, session string, after uint64, fn func(uint64, event.Event) error, _ func(error, time.Duration)) error {
	if session != "" {
		<-ctx.Done()
		return ctx.Err()
	}
	select {
	case f.starts <- after:
	case <-ctx.Done():
		return ctx.Err()
	}
	for c := after + 1; c <= after+2; c++ {
		if err := fn(c, event.New(event.Info{}, event.Meta{SessionID: "s"})); err != nil {
			return err
		}
	}
	return errors.New("the source failed")
}

// When a source gives up, the screen follows again after a pause, from the
// last cursor it showed.
func TestRunFollowsAgainAfterAFailure(t *testing.T) {
	src := flaky{starts: make(chan uint64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tui.Run(ctx, src, tui.WithRestart(time.Millisecond),
			tui.WithProgramOptions(tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(80, 24), tea.WithoutSignals()))
	}()
	for _, want := range []uint64{0, 2, 4} {
		if got := <-src.starts; got != want {
			t.Fatalf("followed after %d, want %d", got, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
