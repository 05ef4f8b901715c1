package sluicemcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	sluicemcp "github.com/sluice-events/sluice/integrations/mcp"
	"github.com/sluice-events/sluice/internal/recorder"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ---- the MCP server the tests talk to ----------------------------------

type countArgs struct {
	To int `json:"to"`
}

type echoArgs struct {
	Text string `json:"text"`
}

// newServer returns an MCP server with three tools: echo, fail (which
// returns an error result) and count (which reports progress to its
// caller, then answers).
func newServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "test-server", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "says it back"}, func(ctx context.Context, req *mcp.CallToolRequest, a echoArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: a.Text}}}, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "fail", Description: "always fails"}, func(ctx context.Context, req *mcp.CallToolRequest, a echoArgs) (*mcp.CallToolResult, any, error) {
		return nil, nil, errors.New("disk full")
	})
	mcp.AddTool(s, &mcp.Tool{Name: "count", Description: "counts, reporting progress"}, func(ctx context.Context, req *mcp.CallToolRequest, a countArgs) (*mcp.CallToolResult, any, error) {
		token := req.Params.GetProgressToken()
		for i := 1; i <= a.To && token != nil; i++ {
			err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: float64(i), Total: float64(a.To), Message: fmt.Sprintf("at %d", i)})
			if err != nil {
				return nil, nil, err
			}
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("counted to %d", a.To)}}}, nil, nil
	})
	return s
}

// ---- a sink that keeps what it receives ---------------------------------

func withTurn(rec *recorder.Sink) context.Context {
	em := sluice.NewEmitter(rec, event.Meta{RunID: "run-1", SessionID: "s-1"}).Turn("turn-1")
	return sluice.WithEmitter(context.Background(), em)
}

// ---- client instrumentation --------------------------------------------

func connectInMemory(t *testing.T, opts ...sluicemcp.Option) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := newServer().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ss.Wait() })
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, nil)
	if err := sluicemcp.Instrument(client, opts...); err != nil {
		t.Fatal(err)
	}
	cs, err := client.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func TestInstrumentToolCalls(t *testing.T) {
	cs := connectInMemory(t, sluicemcp.WithServer("local"))
	rec := recorder.New()
	ctx := withTurn(rec)

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hello"}})
	if err != nil || res.IsError {
		t.Fatal(res, err)
	}
	started, done := rec.Of(event.TypeMCPCallStarted), rec.Of(event.TypeMCPCallCompleted)
	if len(started) != 1 || len(done) != 1 {
		t.Fatalf("started %d, completed %d", len(started), len(done))
	}
	s := started[0].Payload.(event.MCPCallStarted)
	if s.Name != "echo" || s.Server != "local" || string(s.Arguments) != `{"text":"hello"}` || s.ItemID == "" {
		t.Errorf("tool.mcp.call.started %+v", s)
	}
	if m := started[0].Meta; m.ToolCallID != s.ItemID || m.ParentID != "turn-1" || m.RunID != "run-1" {
		t.Errorf("meta %+v", m)
	}
	d := done[0].Payload.(event.MCPCallCompleted)
	if d.ItemID != s.ItemID || d.Output != "hello" || d.Duration <= 0 {
		t.Errorf("tool.mcp.call.completed %+v", d)
	}

	// A tool that fails gives an error result: tool.mcp.call.failed.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "fail", Arguments: map[string]any{"text": "x"}})
	if err != nil || !res.IsError {
		t.Fatal(res, err)
	}
	f := rec.Of(event.TypeMCPCallFailed)
	if len(f) != 1 {
		t.Fatalf("%d failed events", len(f))
	}
	if p := f[0].Payload.(event.MCPCallFailed); p.Name != "fail" || !strings.Contains(p.Error.Message, "disk full") || p.Error.Kind != "tool" || p.Duration <= 0 {
		t.Errorf("tool.mcp.call.failed %+v", p)
	}

	// An unknown tool is a protocol error: tool.mcp.call.failed too.
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "nope"}); err == nil {
		t.Fatal("no error for an unknown tool")
	}
	if f := rec.Of(event.TypeMCPCallFailed); len(f) != 2 || f[1].Payload.(event.MCPCallFailed).Name != "nope" {
		t.Fatalf("failed events %+v", f)
	}
}

func TestInstrumentProgress(t *testing.T) {
	cs := connectInMemory(t)
	rec := recorder.New()
	res, err := cs.CallTool(withTurn(rec), &mcp.CallToolParams{Name: "count", Arguments: map[string]any{"to": 3}})
	if err != nil || res.IsError {
		t.Fatal(res, err)
	}
	id := rec.Of(event.TypeMCPCallStarted)[0].Payload.(event.MCPCallStarted).ItemID
	// The SDK hands progress notifications over on a queue of their own:
	// the last may come after the result.
	p := rec.WaitFor(t, event.TypeMCPCallProgress, 3)
	for i, ev := range p {
		pr := ev.Payload.(event.MCPCallProgress)
		if pr.ItemID != id || pr.Progress != float64(i+1) || pr.Total != 3 || pr.Message != fmt.Sprintf("at %d", i+1) || ev.Meta.ToolCallID != id {
			t.Errorf("progress %d: %+v %+v", i, pr, ev.Meta)
		}
	}
}

func TestInstrumentListTools(t *testing.T) {
	cs := connectInMemory(t)
	rec := recorder.New()
	res, err := cs.ListTools(withTurn(rec), nil)
	if err != nil || len(res.Tools) != 3 {
		t.Fatal(res, err)
	}
	if s := rec.Of(event.TypeMCPListStarted); len(s) != 1 {
		t.Fatalf("%d list.started", len(s))
	}
	c := rec.Of(event.TypeMCPListCompleted)
	if len(c) != 1 {
		t.Fatalf("%d list.completed", len(c))
	}
	p := c[0].Payload.(event.MCPListCompleted)
	if !strings.Contains(string(p.Tools), `"name":"count"`) || p.Duration <= 0 || p.ItemID != rec.Of(event.TypeMCPListStarted)[0].Payload.(event.MCPListStarted).ItemID {
		t.Errorf("list.completed %+v", p)
	}
}

func TestInstrumentWithoutEmitter(t *testing.T) {
	cs := connectInMemory(t)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	if err != nil || res.IsError {
		t.Fatal(res, err)
	}
	if err := sluicemcp.Instrument(nil); !errors.Is(err, sluicemcp.ErrInvalid) {
		t.Errorf("nil client: %v", err)
	}
	if err := sluicemcp.Instrument(mcp.NewClient(&mcp.Implementation{Name: "c"}, nil), sluicemcp.WithServer("")); !errors.Is(err, sluicemcp.ErrInvalid) {
		t.Errorf("empty server label: %v", err)
	}
}

// ---- the event store ----------------------------------------------------

func logs(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"memory": func(t *testing.T) store.Store {
			s, err := memory.New()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"sqlite": func(t *testing.T) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "log.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
}

func collect(t *testing.T, es *sluicemcp.EventStore, session, stream string, index int) ([]string, error) {
	t.Helper()
	var got []string
	for d, err := range es.After(context.Background(), session, stream, index) {
		if err != nil {
			return got, err
		}
		got = append(got, string(d))
	}
	return got, nil
}

// The cases of the SDK's own test of its MemoryEventStore (After), on a
// Sluice log.
func TestEventStoreAfter(t *testing.T) {
	for name, open := range logs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			es, err := sluicemcp.NewEventStore(open(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range []struct{ session, stream, data string }{
				{"S1", "1", `"d1"`}, {"S1", "1", `"d2"`}, {"S1", "1", `"d3"`}, {"S1", "2", `"d4"`}, {"S2", "1", `"d5"`},
			} {
				if err := es.Open(ctx, a.session, a.stream); err != nil {
					t.Fatal(err)
				}
				if err := es.Append(ctx, a.session, a.stream, []byte(a.data)); err != nil {
					t.Fatal(err)
				}
			}
			for _, tt := range []struct {
				session, stream string
				index           int
				want            []string
			}{
				{"S1", "1", -1, []string{`"d1"`, `"d2"`, `"d3"`}},
				{"S1", "1", 0, []string{`"d2"`, `"d3"`}},
				{"S1", "1", 1, []string{`"d3"`}},
				{"S1", "1", 2, nil},
				{"S1", "1", 100, nil},
				{"S1", "2", -1, []string{`"d4"`}},
				{"S1", "2", 0, nil},
				{"S2", "1", -1, []string{`"d5"`}},
				{"S1", "3", -1, nil}, // opened, never written
			} {
				got, err := collect(t, es, tt.session, tt.stream, tt.index)
				if err != nil || !slices.Equal(got, tt.want) {
					t.Errorf("After(%s, %s, %d) = %v, %v; want %v", tt.session, tt.stream, tt.index, got, err, tt.want)
				}
			}
			// Stopping early is allowed.
			for range es.After(ctx, "S1", "1", -1) {
				break
			}
			// Bad input is an error, never a panic.
			if err := es.Append(ctx, "S1", "1", []byte("not json")); !errors.Is(err, sluicemcp.ErrInvalid) {
				t.Errorf("Append of non-JSON: %v", err)
			}
			if err := es.Append(ctx, "a/b", "1", []byte(`1`)); !errors.Is(err, sluicemcp.ErrInvalid) {
				t.Errorf("Append to a session ID with a slash: %v", err)
			}
			if _, err := collect(t, es, "S1", "1", -2); !errors.Is(err, sluicemcp.ErrInvalid) {
				t.Errorf("After(-2): %v", err)
			}
			if err := es.SessionClosed(ctx, "S1"); err != nil {
				t.Errorf("SessionClosed: %v", err)
			}
		})
	}
}

// After must fail at once, with no partial result, when retention removed
// a message after the index.
func TestEventStorePurged(t *testing.T) {
	ctx := context.Background()
	log, err := memory.New(memory.WithRetention(store.Retention{MaxEvents: 2, Interval: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	es, err := sluicemcp.NewEventStore(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{`1`, `2`, `3`, `4`} {
		if err := es.Append(ctx, "S", "x", []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := log.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	for _, index := range []int{-1, 0} {
		got, err := collect(t, es, "S", "x", index)
		if !errors.Is(err, mcp.ErrEventsPurged) || len(got) != 0 {
			t.Errorf("After(%d) = %v, %v; want ErrEventsPurged and nothing", index, got, err)
		}
	}
	if got, err := collect(t, es, "S", "x", 1); err != nil || !slices.Equal(got, []string{`3`, `4`}) {
		t.Errorf("After(1) = %v, %v", got, err)
	}
	if _, err := sluicemcp.NewEventStore(nil); !errors.Is(err, sluicemcp.ErrInvalid) {
		t.Errorf("nil log: %v", err)
	}
	if _, err := sluicemcp.NewEventStore(log, sluicemcp.WithPrefix("")); !errors.Is(err, sluicemcp.ErrInvalid) {
		t.Errorf("empty prefix: %v", err)
	}
}

// ---- sessions that survive a restart -----------------------------------

// backend is one life of the server process: a log opened from the file,
// an MCP server and a Handler.
type backend struct {
	log     *sqlite.Store
	handler *sluicemcp.Handler
}

func start(t *testing.T, path string) *backend {
	t.Helper()
	log, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	es, err := sluicemcp.NewEventStore(log)
	if err != nil {
		t.Fatal(err)
	}
	h, err := sluicemcp.NewHandler(newServer(), es)
	if err != nil {
		t.Fatal(err)
	}
	return &backend{log: log, handler: h}
}

// stop ends the life of b: the process goes away, its log file stays.
func (b *backend) stop(t *testing.T) {
	t.Helper()
	if err := b.handler.Close(); err != nil {
		t.Error(err)
	}
	if err := b.log.Close(); err != nil {
		t.Error(err)
	}
}

// cutWriter passes a response on until an event with a progress
// notification has gone through, then drops the rest: the network between
// the server and the client failed.
type cutWriter struct {
	http.ResponseWriter
	buf  []byte
	cut  bool
	seen int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.cut {
		return len(p), nil
	}
	c.buf = append(c.buf, p...)
	for {
		i := bytes.Index(c.buf, []byte("\n\n"))
		if i < 0 {
			return len(p), nil
		}
		ev := c.buf[:i+2]
		c.buf = c.buf[i+2:]
		if _, err := c.ResponseWriter.Write(ev); err != nil {
			return 0, err
		}
		if bytes.Contains(ev, []byte("notifications/progress")) {
			c.cut = true
			return len(p), nil
		}
	}
}

func (c *cutWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// A client calls a tool that reports progress; the connection breaks after
// the first progress notification, and the server restarts (a new process:
// new MCP server, new Handler, the log reopened from its file) before the
// client reconnects. The client resumes its session and its stream with
// Last-Event-ID and gets the rest of the progress and the result exactly
// once, then goes on with the same session.
func TestResumeAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mcp.db")
	var current atomic.Pointer[backend]
	first := start(t, path)
	current.Store(first)
	var restarted atomic.Bool
	var resumed atomic.Int32

	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := current.Load()
		if r.Method == http.MethodGet && r.Header.Get("Last-Event-ID") != "" && b != first {
			resumed.Add(1)
		}
		body, _ := readBody(r)
		if b != first || r.Method != http.MethodPost || !bytes.Contains(body, []byte(`"count"`)) {
			b.handler.ServeHTTP(w, r)
			return
		}
		b.handler.ServeHTTP(&cutWriter{ResponseWriter: w}, r)
		// The tool has answered into the void. The process restarts, and
		// only then does the client notice the broken connection.
		first.stop(t)
		current.Store(start(t, path))
		restarted.Store(true)
		panic(http.ErrAbortHandler)
	}))
	defer front.Close()

	var progress []float64
	var mu sync.Mutex
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			progress = append(progress, req.Params.Progress)
			mu.Unlock()
		},
	})
	rec := recorder.New()
	if err := sluicemcp.Instrument(client); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(withTurn(rec), time.Minute)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: front.URL, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := cs.ID()

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "count", Arguments: map[string]any{"to": 4}})
	if err != nil {
		t.Fatal(err)
	}
	if !restarted.Load() || resumed.Load() == 0 {
		t.Fatalf("restarted %v, resumed %d times: the test did not test a resumption", restarted.Load(), resumed.Load())
	}
	if got := res.Content[0].(*mcp.TextContent).Text; got != "counted to 4" {
		t.Errorf("result %q", got)
	}
	if n := len(rec.WaitFor(t, event.TypeMCPCallProgress, 4)); n != 4 {
		t.Errorf("%d progress events, want 4", n)
	}
	var got []float64
	for deadline := time.Now().Add(10 * time.Second); len(got) < 4 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		mu.Lock()
		got = slices.Clone(progress)
		mu.Unlock()
	}
	if !slices.Equal(got, []float64{1, 2, 3, 4}) {
		t.Errorf("progress %v, want each of 1..4 once", got)
	}

	// The session goes on in the new process.
	if cs.ID() != id {
		t.Errorf("session ID changed from %s to %s", id, cs.ID())
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "still here"}})
	if err != nil || res.Content[0].(*mcp.TextContent).Text != "still here" {
		t.Fatal(res, err)
	}

	// Closing the client ends the session for good: the log says so, and
	// the session is not taken up again.
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, front.URL, strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("request for an ended session: %d, want 404", resp.StatusCode)
	}
	current.Load().stop(t)
}

// readBody reads r's body and puts it back.
func readBody(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	r.Body.Close()
	r.Body = readCloser{bytes.NewReader(b.Bytes())}
	return b.Bytes(), err
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestHandlerRequests(t *testing.T) {
	b := start(t, filepath.Join(t.TempDir(), "mcp.db"))
	defer b.stop(t)
	for _, tc := range []struct {
		method, session string
		want            int
	}{
		{http.MethodPut, "", http.StatusMethodNotAllowed},
		{http.MethodGet, "", http.StatusBadRequest},
		{http.MethodGet, "unknown", http.StatusNotFound},
		{http.MethodDelete, "unknown", http.StatusNotFound},
		{http.MethodPost, "a/b", http.StatusNotFound},
	} {
		req := httptest.NewRequest(tc.method, "/", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if tc.session != "" {
			req.Header.Set("Mcp-Session-Id", tc.session)
		}
		w := httptest.NewRecorder()
		b.handler.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s with session %q: %d, want %d", tc.method, tc.session, w.Code, tc.want)
		}
		var body struct {
			Error struct {
				Status  int    `json:"status"`
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Status != tc.want || body.Error.Code == "" || body.Error.Message == "" {
			t.Errorf("%s with session %q: body %q (%v), want a JSON error", tc.method, tc.session, w.Body.String(), err)
		}
	}
	if _, err := sluicemcp.NewHandler(nil, nil); !errors.Is(err, sluicemcp.ErrInvalid) {
		t.Errorf("nil arguments: %v", err)
	}
}
