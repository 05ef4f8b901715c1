package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a server on a loopback listener.
type env struct {
	t   *testing.T
	st  store.Store
	hub *hub.Hub
	srv *server.Server
	ts  *httptest.Server
	url string
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newServer returns a server with cfg over a new in-memory store and hub
// with opts (quiet unless cfg has a logger).
func newServer(t *testing.T, cfg server.Config, opts ...hub.Option) (*server.Server, *hub.Hub, store.Store) {
	t.Helper()
	st := memStore(t)
	h, err := hub.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hub = h
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, h, st
}

func newEnv(t *testing.T, cfg server.Config, opts ...hub.Option) *env {
	t.Helper()
	srv, h, st := newServer(t, cfg, opts...)
	return serveEnv(t, srv, h, st)
}

// serveEnv serves srv over h and st until t ends, then closes all three.
func serveEnv(t *testing.T, srv *server.Server, h *hub.Hub, st store.Store) *env {
	t.Helper()
	ts := httptest.NewServer(srv)
	e := &env{t: t, st: st, hub: h, srv: srv, ts: ts, url: ts.URL}
	t.Cleanup(func() {
		srv.Drain()
		ts.CloseClientConnections()
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Error(err)
		}
		h.Close(ctx)
		st.Close()
	})
	return e
}

func mkEvent(session string, n int) event.Event {
	return event.New(event.TextDelta{Text: strconv.Itoa(n)}, event.Meta{SessionID: session})
}

func eventJSON(t testing.TB, ev event.Event) []byte {
	b, err := event.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// do makes a request and returns the status and body.
func (e *env) do(method, path, key string, body []byte, hdr ...string) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// publish posts n events numbered from `from` to session and fails the test
// on error.
func (e *env) publish(key, session string, from, n int) {
	e.t.Helper()
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(eventJSON(e.t, mkEvent(session, from+i)))
	}
	buf.WriteByte(']')
	code, body := e.do("POST", "/v1/events", key, buf.Bytes())
	if code != 200 {
		e.t.Fatalf("publish: %d %s", code, body)
	}
}

// errBody is a JSON error body.
type errBody struct {
	Error struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Index   *int   `json:"index"`
		ID      string `json:"id"`
		Line    int    `json:"line"`
	} `json:"error"`
}

func decodeErr(t *testing.T, body []byte) errBody {
	t.Helper()
	var eb errBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" {
		t.Fatalf("not a JSON error body: %q (%v)", body, err)
	}
	return eb
}

// received is one event as a stream client saw it.
type received struct {
	id      string
	typ     string
	text    string
	seq     uint64
	session string
}

func parseReceived(t testing.TB, ev wire.Event) received {
	var e event.Event
	if err := event.Unmarshal(ev.Data, &e); err != nil {
		t.Errorf("bad data %q: %v", ev.Data, err)
		return received{}
	}
	d, _ := event.As[event.TextDelta](e)
	return received{id: ev.ID, typ: ev.Type, text: d.Text, seq: e.Seq, session: e.Meta.SessionID}
}

// collect follows url with a resuming client until it has n events.
func collect(ctx context.Context, t testing.TB, c *wire.Client, url string, n int) ([]received, error) {
	var got []received
	errDone := fmt.Errorf("done")
	err := c.Stream(ctx, url, "", func(ev wire.Event) error {
		if ev.Type == server.SSEReconnect || ev.Type == server.SSEError {
			return nil
		}
		got = append(got, parseReceived(t, ev))
		if len(got) == n {
			return errDone
		}
		return nil
	})
	if err == errDone {
		err = nil
	}
	return got, err
}

// checkExactlyOnce checks that got are events 0..n-1 of one session in
// order, with sequence numbers 1..n.
func checkExactlyOnce(t testing.TB, got []received, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d events, want %d", len(got), n)
	}
	for i, r := range got {
		if r.text != strconv.Itoa(i) || r.seq != uint64(i+1) {
			t.Fatalf("event %d: text %q seq %d, want %d seq %d", i, r.text, r.seq, i, i+1)
		}
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// checkPerSession checks that got holds, for each session, its events
// 0..n-1 in order with sequence numbers 1..n, and that cursors (frame ids)
// strictly increase.
func checkPerSession(t testing.TB, got []received, sessions []string, n int) {
	t.Helper()
	if len(got) != len(sessions)*n {
		t.Fatalf("got %d events, want %d", len(got), len(sessions)*n)
	}
	next := map[string]int{}
	var last uint64
	for _, r := range got {
		pos, err := strconv.ParseUint(r.id, 10, 64)
		if err != nil || pos <= last {
			t.Fatalf("cursor %q after %d", r.id, last)
		}
		last = pos
		i := next[r.session]
		if r.text != strconv.Itoa(i) || r.seq != uint64(i+1) {
			t.Fatalf("session %s: text %q seq %d, want %d seq %d", r.session, r.text, r.seq, i, i+1)
		}
		next[r.session]++
	}
	for _, s := range sessions {
		if next[s] != n {
			t.Fatalf("session %s: %d events, want %d", s, next[s], n)
		}
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// memStore returns a new memory store or ends the test.
func memStore(tb testing.TB) *memory.Store {
	tb.Helper()
	st, err := memory.New()
	if err != nil {
		tb.Fatal(err)
	}
	return st
}
