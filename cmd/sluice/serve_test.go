package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the CLI in the background until the returned stop is called.
func start(t *testing.T, args ...string) (out, errOut *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newRootCmd()
	out, errOut = &syncBuffer{}, &syncBuffer{}
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = fmt.Errorf("the command did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return out, errOut, stop
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func post(t *testing.T, url, key, body string) int {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeAndTail: sluice serve with keys from the environment, events
// posted with curl-like requests, and sluice tail following a session
// across a restart of the server, printing every event exactly once.
func TestServeAndTail(t *testing.T) {
	addr := freeAddr(t)
	db := filepath.Join(t.TempDir(), "serve.db")
	t.Setenv("SLUICE_KEYS", "writer:writer-secret:ingest;reader:reader-secret:read")
	t.Setenv("SLUICE_ADDR", addr)
	_, serveErr, stopServe := start(t, "serve", "--db", db, "--shutdown-timeout", "2s")
	base := "http://" + addr
	waitFor(t, "the server", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	ev := func(i int) string {
		return fmt.Sprintf(`{"type":"message.text.delta","meta":{"session":"t1"},"payload":{"text":"w%d "}}`, i)
	}
	if code := post(t, base+"/v1/events", "", ev(0)); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	if code := post(t, base+"/v1/events", "writer-secret", ev(0)); code != 200 {
		t.Fatalf("post: %d", code)
	}
	tailOut, tailErr, stopTail := start(t, "tail", base, "--session", "t1", "--format", "json", "--key", "reader-secret")
	waitFor(t, "the first event", func() bool { return strings.Contains(tailOut.String(), "w0 ") })
	post(t, base+"/v1/events", "writer-secret", ev(1))
	waitFor(t, "the second event", func() bool { return strings.Contains(tailOut.String(), "w1 ") })

	// Restart the server: tail reconnects and resumes.
	if err := stopServe(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(serveErr.String(), "shutting down") {
		t.Fatalf("serve log: %s", serveErr.String())
	}
	_, _, stopServe2 := start(t, "serve", "--db", db, "--shutdown-timeout", "2s")
	waitFor(t, "the restarted server", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	post(t, base+"/v1/events", "writer-secret", ev(2))
	waitFor(t, "the third event", func() bool { return strings.Contains(tailOut.String(), "w2 ") })
	if err := stopTail(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(tailOut.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("tail printed %d lines:\n%s\nstderr: %s", len(lines), tailOut.String(), tailErr.String())
	}
	for i, l := range lines {
		if !strings.Contains(l, fmt.Sprintf(`"seq":%d`, i+1)) {
			t.Fatalf("line %d: %s", i, l)
		}
	}
	if !strings.Contains(tailErr.String(), "resuming after 2") {
		t.Fatalf("tail stderr: %s", tailErr.String())
	}
	if err := stopServe2(); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestServeFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--key", "bad", "--db", filepath.Join(t.TempDir(), "x.db")},
		{"serve", "--log-format", "xml"},
		{"tail", "not a url"},
		{"tail", "http://127.0.0.1:1", "--types", "a..b"},
	} {
		if _, _, err := run(t, "", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	var _ *cobra.Command
}

func TestTailURL(t *testing.T) {
	for _, tc := range []struct{ base, session, types, want string }{
		{"http://h:1", "", "", "http://h:1/v1/stream"},
		{"http://h:1/", "s 1", "message.>", "http://h:1/v1/sessions/s%201/stream?types=message.%3E&wait=true"},
		{"http://h:1/v1/stream?after=3", "x", "", "http://h:1/v1/stream?after=3"},
	} {
		got, err := tailURL(tc.base, tc.session, tc.types)
		if err != nil || got != tc.want {
			t.Errorf("tailURL(%q, %q, %q) = %q, %v; want %q", tc.base, tc.session, tc.types, got, err, tc.want)
		}
	}
}

// TestDemoServe: "demo --serve ADDR" (with a space) prints the commands to
// follow the run on standard output, waits before the run so that a tail
// started with the printed command sees all of it, and keeps serving.
func TestDemoServe(t *testing.T) {
	addr := freeAddr(t)
	out, _, stop := start(t, "demo", "--speed", "0", "--serve", addr, "--wait", "2s")
	waitFor(t, "the follow command", func() bool { return strings.Contains(out.String(), "follow this run:") })
	m := regexp.MustCompile(`follow this run: +sluice tail (\S+) --session (\S+)`).FindStringSubmatch(out.String())
	if m == nil || m[1] != "http://"+addr {
		t.Fatalf("no tail command in:\n%s", out.String())
	}
	tailOut, _, stopTail := start(t, "tail", m[1], "--session", m[2], "--format", "json")
	waitFor(t, "the end of the run", func() bool { return strings.Contains(out.String(), "still serving") })
	waitFor(t, "tail to see the end of the run", func() bool { return strings.Contains(tailOut.String(), `"pipeline.completed"`) })
	if err := stopTail(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(tailOut.String()), "\n")
	if !strings.Contains(lines[0], `"seq":1,`) || !strings.Contains(out.String(), fmt.Sprintf("has %d events", len(lines))) {
		t.Fatalf("tail saw %d events, from %.60s\ndemo:\n%s", len(lines), lines[0], out.String())
	}
	for _, want := range []string{"the run starts in 2s", "Sluice demo:", "Done: ", "press Ctrl-C to stop"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestDemoServeRepeats: "demo --serve" prints the web page's URL, serves
// the page there to browsers, and runs the agent again, each run a
// session of its own, every --every.
func TestDemoServeRepeats(t *testing.T) {
	addr := freeAddr(t)
	out, _, stop := start(t, "demo", "--speed", "0", "--serve", addr, "--wait", "0s", "--every", "50ms")
	waitFor(t, "the page's URL", func() bool { return strings.Contains(out.String(), "watch it in a browser:  http://"+addr+"/") })
	waitFor(t, "a second run", func() bool {
		resp, err := http.Get("http://" + addr + "/v1/sessions")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var page struct{ Sessions []struct{ ID string } }
		return json.NewDecoder(resp.Body).Decode(&page) == nil && len(page.Sessions) >= 2
	})
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "<title>Sluice</title>") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET / for a browser: %s", body[:min(len(body), 200)])
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
}
