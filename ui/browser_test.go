package ui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/sqlite"
	"github.com/sluice-events/sluice/wire/agui"
)

// testServer is a real server on loopback with the given API keys
// ("NAME:SECRET:SCOPES[:PREFIX]"), over an in-memory store or, with db, a
// SQLite file. The browser script can have one restarted on its address:
// on the same SQLite log (a restart loses and duplicates nothing), or on a
// new, empty log (another epoch: the page must start over).
type testServer struct {
	t    *testing.T
	addr string
	db   string
	keys []string
	cfg  func(*server.Config) // changes the server's configuration, or nil
	hub  *hub.Hub             // the running server's hub
	stop func()
}

// serve starts a testServer that is stopped when the test ends.
func serve(t *testing.T, db string, keys ...string) *testServer {
	return serveWith(t, nil, db, keys...)
}

// serveWith is serve with cfg changing the server's configuration.
func serveWith(t *testing.T, cfg func(*server.Config), db string, keys ...string) *testServer {
	s := &testServer{t: t, addr: "127.0.0.1:0", db: db, keys: keys, cfg: cfg}
	s.start(false)
	t.Cleanup(func() { s.stop() })
	return s
}

func (r *testServer) url() string { return "http://" + r.addr }

func (r *testServer) start(fresh bool) {
	t := r.t
	var st store.Store
	var err error
	if fresh || r.db == "" {
		st, err = memory.New()
	} else {
		st, err = sqlite.Open(context.Background(), r.db)
	}
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(st, hub.WithCoalesce(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r.hub = h
	cfg := server.Config{Hub: h, Logger: slog.New(slog.DiscardHandler), ShutdownTimeout: time.Second}
	for _, k := range r.keys {
		key, err := server.ParseKey(k)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Keys = append(cfg.Keys, key)
	}
	if r.cfg != nil {
		r.cfg(&cfg)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener
	for i := 0; ; i++ { // the old listener's port may take a moment to free
		if l, err = net.Listen("tcp", r.addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	r.stop = func() {
		cancel()
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
		h.Close(ctx)
		st.Close()
	}
}

// proxy is a TCP proxy on loopback in front of a server: the browser
// reaches the server through it, and the test cuts the network (closes the
// listener and every connection) and restores it on the same address.
type proxy struct {
	t      *testing.T
	addr   string // the proxy's address
	target string // the server's
	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// newProxy starts a proxy to target that is stopped when the test ends.
func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, addr: "127.0.0.1:0", target: target, conns: map[net.Conn]struct{}{}}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) url() string { return "http://" + p.addr }

// up listens on the proxy's address again.
func (p *proxy) up() {
	var l net.Listener
	var err error
	for i := 0; ; i++ { // the old listener's port may take a moment to free
		if l, err = net.Listen("tcp", p.addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.l, p.addr = l, l.Addr().String()
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.pipe(c) })
		}
	})
}

// pipe copies between a client connection and a new one to the target
// until either side ends or the network is cut.
func (p *proxy) pipe(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.l == nil { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(s, c); done <- struct{}{} }()
	go func() { io.Copy(c, s); done <- struct{}{} }()
	<-done
	c.Close()
	s.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// down cuts the network: no new connections, and every open one closed.
func (p *proxy) down() {
	p.mu.Lock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// browserDir holds the browser script and its pinned playwright-core.
const browserDir = "testdata/browser"

// chromium is Debian's browser, the one the tests drive.
const chromium = "/usr/bin/chromium"

// setupBrowser skips the test when node or Chromium is missing and
// installs playwright-core (package-lock.json) when it is not there yet.
func setupBrowser(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the browser tests need it (and Debian's chromium)")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skip(chromium + " is missing: apt-get install chromium to run the browser tests")
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core")); err == nil {
		return
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed: playwright-core cannot be installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = browserDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("npm ci failed, playwright-core is missing: %v: %s", err, bytes.TrimSpace(out))
	}
}

// TestBrowser drives Debian's Chromium through the page served by real
// servers on loopback (testdata/browser/browser.mjs): the session list
// updates live, with each session's model, tokens, cost and error marker,
// filtered by prefix and paged; a run's text streams into the page; a
// tool card shows the arguments, then the result; hostile event content
// stays text; a reload mid-run gives the same page with no duplicated
// text, a second tab agrees, and so does a server restart (on the same
// log; on a new log, the page starts over) and a dropped network (a TCP
// proxy cut mid-run and restored); a session whose timeline is over the
// server's response limit opens from its events; errors show; a run waiting
// for input (an AG-UI interrupt, made through wire/agui's Handler) shows an
// "awaiting input" card per open interrupt, then the answers once a resume
// gives them, and the page folds it as the server does; the inspector
// filters, searches, copies an event as JSON and links to it; the page's
// fold of a log equals the server's timeline; the scrubber replays; a
// server with keys refuses the page without a key, the key never appears
// in a URL, and one tenant cannot open another's session. With
// SLUICE_UI_SCREENSHOTS set it writes docs/ui-session.png and
// docs/ui-replay.png; it logs the measurements recorded in BENCHMARKS.md.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the browser test takes about a minute")
	}
	setupBrowser(t)
	open := serve(t, "")
	keyed := serve(t, "", "admin:admin-secret:admin", "a:a-secret:read,ingest:tenA-", "b:b-secret:read,ingest:tenB-")
	rs := serve(t, filepath.Join(t.TempDir(), "restart.db"))
	px := newProxy(t, open.addr)
	tight := serveWith(t, func(c *server.Config) { c.MaxResponseBytes = 4096 }, "")
	docs, err := filepath.Abs(filepath.Join("..", "docs"))
	if err != nil {
		t.Fatal(err)
	}
	demo, err := filepath.Abs(filepath.Join("..", "internal", "recorded", "testdata", "demo.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(t.TempDir(), "results.json")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// Session "ask": an AG-UI run that ends waiting for two answers; the
	// script has it answered ("AGUI resume") while the page shows it.
	aguiHandler, err := agui.Handler(open.hub, bookingAgent)
	if err != nil {
		t.Fatal(err)
	}
	ag := httptest.NewServer(aguiHandler)
	defer ag.Close()
	if err := aguiRun(ctx, ag.URL, "ask", "ask-1"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", "browser.mjs")
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(),
		"SLUICE_URL="+open.url(), "SLUICE_KEYED_URL="+keyed.url(), "SLUICE_RESTART_URL="+rs.url(), "SLUICE_PROXY_URL="+px.url(), "SLUICE_TIGHT_URL="+tight.url(), "CHROMIUM="+chromium,
		"DEMO_EVENTS="+demo, "RESULTS="+results)
	if os.Getenv("SLUICE_UI_SCREENSHOTS") != "" {
		cmd.Env = append(cmd.Env, "SCREENSHOTS="+docs)
	}
	// The script asks for restarts with a line "RESTART same" or
	// "RESTART fresh" and waits for "restarted" on its standard input; it
	// cuts and restores the network between the page and the open server
	// with "NETWORK down" and "NETWORK up", waiting for "network"; it has
	// session "ask" answered with "AGUI resume", waiting for "resumed".
	var out, errOut bytes.Buffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if how, ok := strings.CutPrefix(line, "RESTART "); ok {
			rs.stop()
			rs.start(how == "fresh")
			io.WriteString(stdin, "restarted\n")
		}
		if how, ok := strings.CutPrefix(line, "NETWORK "); ok {
			if how == "down" {
				px.down()
			} else {
				px.up()
			}
			io.WriteString(stdin, "network\n")
		}
		if line == "AGUI resume" {
			if err := aguiRun(ctx, ag.URL, "ask", "ask-2", agui.ResumeEntry{InterruptID: "approve", Status: agui.Resolved, Payload: json.RawMessage(`{"fare":"economy"}`)},
				agui.ResumeEntry{InterruptID: "seat", Status: agui.Cancelled}); err != nil {
				t.Error(err)
			}
			io.WriteString(stdin, "resumed\n")
		}
	}
	err = cmd.Wait()
	t.Logf("browser.mjs:\n%s%s", out.String(), errOut.String())
	if err != nil {
		t.Fatalf("browser.mjs: %v", err)
	}
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	t.Logf("measurements: %s", b)
}

// askExpiry is when the booking agent's approval expires: late enough
// for the test's answer, fixed so that the page's text can be checked.
var askExpiry = time.Date(2099, 1, 2, 15, 4, 5, 0, time.UTC)

// bookingAgent is an AG-UI agent that says it needs approval and a seat
// and ends its run waiting for them (the seat's question is hostile HTML,
// which the page must show as text); the run that answers them says what
// it booked.
func bookingAgent(ctx context.Context, in agui.RunAgentInput, em *sluice.Emitter) error {
	text := "I need your approval."
	approve, answered := in.Answer("approve")
	if answered {
		text = "Not booked."
		if approve.Status == agui.Resolved {
			text = "Booked " + string(approve.Payload) + "."
		}
	}
	m := em.WithMeta(func(m *event.Meta) { m.MessageID = "say-" + in.RunID })
	if err := sluice.Emit(ctx, m, event.MessageCreated{Role: "assistant", Content: text, Index: len(in.Messages)}); err != nil || answered {
		return err
	}
	return agui.Interrupt(
		event.Interrupt{ID: "approve", Reason: "approval", Message: "Book the flight to Paris?", ExpiresAt: askExpiry, Metadata: json.RawMessage(`{"price":420}`)},
		event.Interrupt{ID: "seat", Reason: "input", Message: `<img src=x onerror="window.__pwned=3">Which seat?`, ToolCallID: "call_seat", ResponseSchema: json.RawMessage(`{"type":"string"}`)},
	)
}

// aguiRun posts an AG-UI run of thread with the resume entries and reads
// its stream to the end, which must be RUN_FINISHED.
func aguiRun(ctx context.Context, url, thread, runID string, resume ...agui.ResumeEntry) error {
	body, err := json.Marshal(agui.RunAgentInput{
		ThreadID: thread, RunID: runID, Resume: resume,
		Messages: []agui.InputMessage{{ID: "u1", Role: "user", Content: json.RawMessage(`"Book a flight to Paris"`)}},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("run %s: %w", runID, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("run %s: %w", runID, err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"RUN_FINISHED"`)) {
		return fmt.Errorf("run %s: %s: %s", runID, resp.Status, b)
	}
	return nil
}
