package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/wire"
)

// startServe runs sluice serve with args on a free address and waits until
// it answers; it returns the base URL, the server's log and its stop.
func startServe(t *testing.T, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	addr := freeAddr(t)
	_, errOut, stop := start(t, append([]string{"serve", "--addr", addr, "--shutdown-timeout", "2s"}, args...)...)
	base := "http://" + addr
	waitFor(t, "the server", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	return base, errOut, stop
}

// TestServeSync: --sync (or SLUICE_SYNC) picks SQLite's durability, FULL
// by default; anything but full or normal is refused.
func TestServeSync(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{nil, "", "synchronous=FULL"},
		{[]string{"--sync", "normal"}, "", "synchronous=NORMAL"},
		{nil, "normal", "synchronous=NORMAL"},
		{[]string{"--sync", "full"}, "normal", "synchronous=FULL"}, // the flag wins
	} {
		t.Run(strings.Join(tc.args, " ")+" env="+tc.env, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("SLUICE_SYNC", tc.env)
			}
			db := filepath.Join(t.TempDir(), "sync.db")
			base, log, stop := startServe(t, append([]string{"--db", db}, tc.args...)...)
			if code := post(t, base+"/v1/events", "", `{"type":"message.text.delta","meta":{"session":"s"},"payload":{"text":"x"}}`); code != 200 {
				t.Fatalf("post: %d", code)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(log.String(), tc.want) {
				t.Fatalf("log lacks %s:\n%s", tc.want, log.String())
			}
			if normal := strings.Contains(tc.want, "NORMAL"); normal != strings.Contains(log.String(), "power loss") {
				t.Fatalf("warning about --sync normal: %v, want %v:\n%s", !normal, normal, log.String())
			}
		})
	}
	if _, _, err := run(t, "", "serve", "--sync", "off", "--db", filepath.Join(t.TempDir(), "x.db")); err == nil || !strings.Contains(err.Error(), "--sync") {
		t.Fatalf("--sync off: %v", err)
	}
}

// TestServePostgres: sluice serve --postgres DSN end to end: publish,
// query, and an SSE stream resumed with Last-Event-ID that continues live.
// It runs when SLUICE_TEST_POSTGRES is set.
func TestServePostgres(t *testing.T) {
	dsn := os.Getenv("SLUICE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("set SLUICE_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run sluice serve against PostgreSQL")
	}
	base, log, stop := startServe(t, "--postgres", dsn, "--key", "rw:rw-secret:ingest,read")
	if !strings.Contains(log.String(), "store=postgres") {
		t.Fatalf("log: %s", log.String())
	}
	var r [6]byte
	rand.Read(r[:])
	session := "pg-serve-" + hex.EncodeToString(r[:]) // the database may hold other runs' sessions
	ev := func(i int) string {
		return fmt.Sprintf(`{"type":"message.text.delta","meta":{"session":%q},"payload":{"text":"w%d"}}`, session, i)
	}
	get := func(path string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer rw-secret")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// Publish: a single event, then an NDJSON batch.
	if code := post(t, base+"/v1/events", "rw-secret", ev(0)); code != 200 {
		t.Fatalf("publish: %d", code)
	}
	req, _ := http.NewRequest("POST", base+"/v1/events", strings.NewReader(ev(1)+"\n"+ev(2)+"\n"))
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer rw-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pub struct {
		Count  int `json:"count"`
		Events []struct {
			Seq uint64 `json:"seq"`
		} `json:"events"`
	}
	json.NewDecoder(resp.Body).Decode(&pub)
	resp.Body.Close()
	if resp.StatusCode != 200 || pub.Count != 2 || pub.Events[1].Seq != 3 {
		t.Fatalf("batch: %d %+v", resp.StatusCode, pub)
	}

	// Query: a page of one, then the rest.
	var page struct {
		Events []struct {
			Seq uint64 `json:"seq"`
		} `json:"events"`
		NextAfter uint64 `json:"next_after"`
		More      bool   `json:"more"`
	}
	resp = get("/v1/sessions/" + session + "/events?limit=1")
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(page.Events) != 1 || page.Events[0].Seq != 1 || !page.More {
		t.Fatalf("first page: %d %+v", resp.StatusCode, page)
	}
	resp = get(fmt.Sprintf("/v1/sessions/%s/events?after=%d", session, page.NextAfter))
	page.Events = nil
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if len(page.Events) != 2 || page.Events[1].Seq != 3 || page.More {
		t.Fatalf("second page: %+v", page)
	}

	// SSE resume: after event 1, history (2, 3) then live (4).
	resp = get("/v1/sessions/"+session+"/stream", "Last-Event-ID", "1")
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	sr := wire.NewReader(resp.Body)
	var ids []string
	for len(ids) < 3 {
		if len(ids) == 2 {
			if code := post(t, base+"/v1/events", "rw-secret", ev(3)); code != 200 {
				t.Fatalf("live publish: %d", code)
			}
		}
		f, err := sr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(f.Data), fmt.Sprintf(`"text":"w%d"`, len(ids)+1)) {
			t.Fatalf("frame %s: %s", f.ID, f.Data)
		}
		ids = append(ids, f.ID)
	}
	if strings.Join(ids, ",") != "2,3,4" {
		t.Fatalf("ids %v", ids)
	}
	// Shutdown ends the stream with a reconnect frame.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	f, err := sr.Next()
	if err != nil || f.Type != "reconnect" {
		t.Fatalf("after shutdown: %+v %v", f, err)
	}
}
