package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store/memory"
)

// serve starts a real server on loopback over an in-memory store and
// returns its URL; it is closed when the test ends.
func serve(t *testing.T, keys ...string) string {
	t.Helper()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(st, hub.WithCoalesce(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Hub: h, Logger: slog.New(slog.DiscardHandler)}
	for _, k := range keys {
		key, err := server.ParseKey(k)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Keys = append(cfg.Keys, key)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Drain()
		ts.CloseClientConnections()
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
		h.Close(ctx)
		st.Close()
	})
	return ts.URL
}

// browserDir holds the browser script and its pinned playwright-core.
const browserDir = "testdata/browser"

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
// updates live; a run's text streams into the page; a tool card shows
// the arguments, then the result; a reload mid-run gives the same page
// with no duplicated text; hostile event content stays text; the
// inspector filters and links to one event; the scrubber replays; a
// server with keys refuses the page without a key and one tenant cannot
// open another's session. It writes the screenshots in docs/ and reports
// the measurements recorded in BENCHMARKS.md.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the browser test takes about a minute")
	}
	setupBrowser(t)
	open := serve(t)
	keyed := serve(t, "admin:admin-secret:admin", "a:a-secret:read,ingest:tenA-", "b:b-secret:read,ingest:tenB-")
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
	cmd := exec.CommandContext(ctx, "node", "browser.mjs")
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(),
		"SLUICE_URL="+open, "SLUICE_KEYED_URL="+keyed, "CHROMIUM="+chromium,
		"DEMO_EVENTS="+demo, "RESULTS="+results)
	if os.Getenv("SLUICE_UI_SCREENSHOTS") != "" {
		cmd.Env = append(cmd.Env, "SCREENSHOTS="+docs)
	}
	out, err := cmd.CombinedOutput()
	t.Logf("browser.mjs:\n%s", out)
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
