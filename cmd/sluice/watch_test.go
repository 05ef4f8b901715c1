package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/vt"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store/memory"
)

// terminal is a virtual terminal for the watch screen: the program writes
// to it as to a real one, and the test reads what is on screen and types
// keys.
type terminal struct {
	mu  sync.Mutex
	emu *vt.Emulator
}

func newTerminal(w, h int) *terminal {
	emu := vt.NewEmulator(w, h)
	// A line feed also returns the carriage, as a terminal's output
	// processing (ONLCR) does.
	emu.WriteString("\x1b[20h")
	return &terminal{emu: emu}
}

func (t *terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.emu.Write(p)
}

// Read is the program's input: the keys typed and the terminal's answers.
func (t *terminal) Read(p []byte) (int, error) { return t.emu.Read(p) }

func (t *terminal) screen() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.emu.String()
}

// close ends the terminal's input: its readers get io.EOF. (Emulator.Close
// would race with them.)
func (t *terminal) close() {
	if pw, ok := t.emu.InputPipe().(*io.PipeWriter); ok {
		pw.Close()
	}
}

// typeKeys types s as a user would.
func (t *terminal) typeKeys(s string) { io.WriteString(t.emu.InputPipe(), s) }

// waitFor waits until the screen shows every one of want.
func (t *terminal) waitFor(tb testing.TB, want ...string) string {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := t.screen()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the screen never showed %q; it shows:\n%s", missing, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startWatch runs `sluice watch args…` on term; the returned function
// waits for it to end.
func startWatch(t *testing.T, term *terminal, args ...string) func() error {
	t.Helper()
	watchProgram = []tea.ProgramOption{tea.WithWindowSize(term.emu.Width(), term.emu.Height()), tea.WithEnvironment([]string{"TERM=xterm-256color"})}
	t.Cleanup(func() { watchProgram = nil })
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"watch"}, args...))
	cmd.SetIn(term)
	cmd.SetOut(term)
	cmd.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()
	return func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("watch did not end")
			return nil
		}
	}
}

// dropper is a listener whose connections the test can cut.
type dropper struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dropper) Accept() (net.Conn, error) {
	c, err := d.Listener.Accept()
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *dropper) drop() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.Close()
	}
	n := len(d.conns)
	d.conns = nil
	return n
}

// The demo run streams into a server; `sluice watch URL` follows it live,
// through a dropped connection, and shows the conversation, the thinking,
// the tool call and the raw events with a type filter.
func TestWatchFollowsTheDemoOverAServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := hub.New(st, hub.WithCoalesce(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	srv, err := server.New(ctx, server.Config{Hub: h, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dropper{Listener: l}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, d) }()

	term := newTerminal(110, 40)
	wait := startWatch(t, term, "http://"+l.Addr().String())
	term.waitFor(t, "sluice watch", "waiting for sessions")

	// A slow demo: the screen must show it while it streams.
	demoDone := make(chan error, 1)
	go func() { demoDone <- runDemo(ctx, h, 1, nil, newDemoMeta()) }()
	term.waitFor(t, "sess-", "running")
	term.typeKeys("\r") // open the only session
	term.waitFor(t, "user", "What's the weather in Paris right now?")
	t.Logf("while the run streams:\n%s", term.waitFor(t, "get_weather"))

	// Cut every connection: the streams resume after the last event shown.
	if d.drop() == 0 {
		t.Fatal("no connection to drop")
	}
	if err := <-demoDone; err != nil {
		t.Fatal(err)
	}
	screen := term.waitFor(t, "It's 18 °C and partly cloudy", "⚙ get_weather done", "thinking (", "done ·", "$0.0050")
	if n := strings.Count(screen, "I'll check the current weather in Paris for you."); n != 1 {
		t.Errorf("the first answer shows %d times after the reconnect:\n%s", n, screen)
	}
	if strings.Contains(screen, "The user wants the current weather") {
		t.Errorf("thinking shows before t:\n%s", screen)
	}
	term.typeKeys("t")
	term.waitFor(t, "▾ thinking", "The user wants the current weather in Paris.")
	t.Logf("session screen:\n%s", term.screen())

	term.typeKeys("\t") // raw events
	term.waitFor(t, "provider.call.completed", "pipeline.completed")
	term.typeKeys("/tool.call.*\r")
	screen = term.waitFor(t, "events tool.call.*", "tool.call.completed", `"temp_c":18`)
	if strings.Contains(screen, "message.text.delta") {
		t.Errorf("the filter let other types through:\n%s", screen)
	}
	t.Logf("events screen:\n%s", screen)

	term.typeKeys("\x1b") // back to the list
	screen = term.waitFor(t, "SESSION", "973/137", "done")
	t.Logf("sessions screen:\n%s", screen)
	term.typeKeys("q")
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-served
}

// recordDemo records the demo run into a new database and returns its
// path.
func recordedDemoDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "events.db")
	st, err := openDB(ctx, db, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := runDemo(ctx, sluice.Discard, 0, st, newDemoMeta()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	return db
}

// A recorded database: `sluice watch --db FILE` shows what it holds.
func TestWatchShowsARecordedDatabase(t *testing.T) {
	db := recordedDemoDB(t)

	term := newTerminal(100, 30)
	wait := startWatch(t, term, "--db", db)
	term.waitFor(t, "events.db", "sess-", "done", "973/137", "$0.0050")
	term.typeKeys("j\r")
	screen := term.waitFor(t, "It's 18 °C and partly cloudy", `args: {"city":"Paris","unit":"celsius"}`, "claude-sonnet-4-5-20250929 · 412 in / 96 out tokens")
	t.Logf("recorded session:\n%s", screen)
	term.typeKeys("q")
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// A database another writer is appending to: the screen follows it live.
func TestWatchFollowsADatabaseBeingWritten(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "live.db")
	st, err := openDB(ctx, db, false) // the writer's own handle, as another process would have
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	term := newTerminal(100, 30)
	wait := startWatch(t, term, "--db", db)
	term.waitFor(t, "live.db", "waiting for sessions")
	demoDone := make(chan error, 1)
	go func() { demoDone <- runDemo(ctx, sluice.Discard, 2, st, newDemoMeta()) }()
	term.waitFor(t, "sess-", "running")
	term.typeKeys("\r")
	term.waitFor(t, "What's the weather in Paris right now?")
	if err := <-demoDone; err != nil {
		t.Fatal(err)
	}
	term.waitFor(t, "It's 18 °C and partly cloudy", "done · 58 events · 973/137 tokens")
	term.typeKeys("q")
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

func TestWatchArguments(t *testing.T) {
	for _, args := range [][]string{{"watch"}, {"watch", "http://x", "--db", "f"}, {"watch", "not a url"}, {"watch", "--db", filepath.Join(t.TempDir(), "missing.db")}} {
		if _, _, err := run(t, "", args...); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
