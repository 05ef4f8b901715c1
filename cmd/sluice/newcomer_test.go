package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
)

// TestDemoFraming: the text demo has a header, a closing summary with
// tokens and cost, and the next commands to try; usage lines have no bare
// "cumulative"; color is off when the output is not a terminal, on with
// --color, and NO_COLOR does not override an explicit --color.
func TestDemoFraming(t *testing.T) {
	out, _, err := run(t, "", "demo", "--speed", "0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sluice demo:", "Done: ", "973 input and 137 output tokens, cost $0.0050", "Next, try:", "sluice replay --db"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo text lacks %q", want)
		}
	}
	if strings.Contains(out, " cumulative") || strings.Contains(out, "\x1b[") {
		t.Errorf("demo text has a bare cumulative or color escapes on a non-terminal:\n%s", out)
	}
	t.Setenv("NO_COLOR", "1")
	colored, _, err := run(t, "", "demo", "--speed", "0", "--color")
	if err != nil || !strings.Contains(colored, "\x1b[") {
		t.Errorf("--color: %v, no escapes", err)
	}
	if _, _, err := run(t, "", "demo", "--color", "--no-color"); err == nil {
		t.Error("--color with --no-color: no error")
	}
}

// TestDemoRecordsAndReplaysLatest: demo --db says which session it
// recorded and how many events; replay without --session (or with
// --session latest) replays the latest session and says so.
func TestDemoRecordsAndReplaysLatest(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	if _, _, err := run(t, "", "demo", "--speed", "0", "--db", db); err != nil {
		t.Fatal(err)
	}
	live, errOut, err := run(t, "", "demo", "--speed", "0", "--db", db, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(live, "\n")
	m := regexp.MustCompile(`Recorded session (\S+): (\d+) events in `).FindStringSubmatch(errOut)
	if m == nil || m[2] != fmt.Sprint(n) {
		t.Fatalf("demo --db --format json printed %q on stderr; want the session and %d events", errOut, n)
	}
	for _, args := range [][]string{{}, {"--session", "latest"}} {
		out, errOut, err := run(t, "", append([]string{"replay", "--db", db, "--speed", "0", "--format", "json"}, args...)...)
		if err != nil || strings.Count(out, "\n") != n || !strings.Contains(out, `"session":"`+m[1]+`"`) ||
			!strings.Contains(errOut, "session "+m[1]) {
			t.Errorf("replay %v: %v, %d lines, stderr %q", args, err, strings.Count(out, "\n"), errOut)
		}
	}
}

// TestSessionsManage: sessions delete, prune, export and import against a
// database file, and list, replay, export, import and delete against a
// server, as a user would type them.
func TestSessionsManage(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	for range 3 {
		if _, _, err := run(t, "", "demo", "--speed", "0", "--db", db, "--format", "json"); err != nil {
			t.Fatal(err)
		}
	}
	ids := sessionIDs(t, "--db", db)
	if len(ids) != 3 {
		t.Fatalf("sessions: %v", ids)
	}
	out, _, err := run(t, "", "sessions", "delete", "--db", db, ids[0])
	if err != nil || !strings.Contains(out, "deleted session "+ids[0]+" (58 events)") {
		t.Fatalf("delete: %v %q", err, out)
	}
	if got := sessionIDs(t, "--db", db); len(got) != 2 {
		t.Fatalf("after delete: %v", got)
	}
	out, _, err = run(t, "", "sessions", "prune", "--db", db, "--older-than", "1h")
	if err != nil || !strings.Contains(out, "deleted 0 of 2 sessions") {
		t.Fatalf("prune 1h: %v %q", err, out)
	}

	export := filepath.Join(dir, "export.ndjson")
	if _, errOut, err := run(t, "", "sessions", "export", "--db", db, "-o", export); err != nil || !strings.Contains(errOut, "116 events of 2 sessions") {
		t.Fatalf("export: %v %q", err, errOut)
	}
	data, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	if out, _, err := run(t, string(data), "validate", "-"); err != nil {
		t.Fatalf("the export does not validate: %v\n%s", err, out)
	}
	db2 := filepath.Join(dir, "b.db")
	if out, _, err := run(t, "", "sessions", "import", "--db", db2, export); err != nil || out != "imported 116 events into 2 sessions\n" {
		t.Fatalf("import: %v %q", err, out)
	}
	if again, _, _ := run(t, "", "sessions", "export", "--db", db2); again != string(data) {
		t.Fatal("an import exported again differs from the original export")
	}

	// The same against a server.
	base, _, _ := startServe(t, "--db", filepath.Join(dir, "server.db"))
	if out, _, err := run(t, "", "sessions", "import", "--server", base, export); err != nil || !strings.Contains(out, "imported 116 events") {
		t.Fatalf("import to a server: %v %q", err, out)
	}
	remote := sessionIDs(t, "--server", base)
	if strings.Join(remote, " ") != strings.Join(ids[1:], " ") {
		t.Fatalf("server sessions %v, want %v", remote, ids[1:])
	}
	if got, _, err := run(t, "", "sessions", "export", "--server", base); err != nil || got != string(data) {
		t.Fatalf("export from the server: %v (differs: %v)", err, got != string(data))
	}
	out, errOut, err := run(t, "", "replay", "--server", base, "--speed", "0", "--types", "message.text.>")
	if err != nil || !strings.Contains(out, "A light jacket should be enough") || !strings.Contains(errOut, "the latest") {
		t.Fatalf("replay from the server: %v\n%s\n%s", err, out, errOut)
	}
	if out, _, err := run(t, "", "sessions", "delete", "--server", base, remote[0]); err != nil || !strings.Contains(out, "deleted session") {
		t.Fatalf("delete on the server: %v %q", err, out)
	}
	if _, _, err := run(t, "", "sessions", "delete", "--server", base, remote[0]); err == nil {
		t.Fatal("deleting a deleted session on the server: no error")
	}
	out, _, err = run(t, "", "sessions", "prune", "--server", base, "--older-than", "1m", "--dry-run")
	if err != nil || !strings.Contains(out, "would delete 0 of 1 sessions") {
		t.Fatalf("prune --dry-run on the server: %v %q", err, out)
	}
	// Every session of the file is older than a nanosecond.
	out, _, err = run(t, "", "sessions", "prune", "--db", db, "--older-than", "1ns")
	if err != nil || !strings.Contains(out, "deleted 2 of 2 sessions (116 events)") || len(sessionIDs(t, "--db", db)) != 0 {
		t.Fatalf("prune 1ns: %v %q", err, out)
	}
}

// TestTailNewcomer: tail says when it connects and that it waits for a
// session that does not exist yet, ends the last delta's line when it
// stops, and labels the sessions when it follows all of them.
func TestTailNewcomer(t *testing.T) {
	base, _, _ := startServe(t, "--db", filepath.Join(t.TempDir(), "tail.db"))
	delta := func(session, text string) string {
		return fmt.Sprintf(`{"type":"message.text.delta","meta":{"session":%q},"payload":{"text":%q}}`, session, text)
	}
	one, oneErr, stopOne := start(t, "tail", base, "--session", "later")
	all, _, stopAll := start(t, "tail", base)
	waitFor(t, "tail to wait", func() bool {
		return strings.Contains(oneErr.String(), "session later does not exist yet; waiting") &&
			strings.Contains(oneErr.String(), "sluice tail: connected to "+base)
	})
	post(t, base+"/v1/events", "", delta("later", "Hello"))
	post(t, base+"/v1/events", "", delta("other", "Bonjour"))
	post(t, base+"/v1/events", "", delta("later", ", world"))
	waitFor(t, "the deltas", func() bool {
		return strings.Contains(one.String(), "Hello, world") && strings.Contains(all.String(), ", world")
	})
	if err := stopOne(); err != nil {
		t.Fatal(err)
	}
	if got := one.String(); got != "Hello, world\n" {
		t.Errorf("tail --session printed %q, want the text and a newline", got)
	}
	if err := stopAll(); err != nil {
		t.Fatal(err)
	}
	want := "── session later ──\nHello\n── session other ──\nBonjour\n── session later ──\n, world\n"
	if got := all.String(); got != want {
		t.Errorf("tail of every session printed\n%q\nwant\n%q", got, want)
	}
}

// sessionIDs lists the session IDs with "sluice sessions --json" and the
// given flags.
func sessionIDs(t *testing.T, flags ...string) []string {
	t.Helper()
	out, _, err := run(t, "", append([]string{"sessions", "--json"}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// TestSessionsPostgres: import, list, replay and delete a session in
// PostgreSQL with --postgres. It runs when SLUICE_TEST_POSTGRES is set.
func TestSessionsPostgres(t *testing.T) {
	dsn := os.Getenv("SLUICE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("set SLUICE_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the session commands against PostgreSQL")
	}
	session := fmt.Sprintf("pg-cli-%d", time.Now().UnixNano()) // the database may hold other runs' sessions
	var in strings.Builder
	for i := range 3 {
		fmt.Fprintf(&in, `{"id":"%s","type":"message.text.delta","time":"2026-01-02T03:04:05Z","meta":{"session":%q},"payload":{"text":"w%d "}}`+"\n",
			event.NewID(), session, i)
	}
	if out, _, err := run(t, in.String(), "sessions", "import", "--postgres", dsn, "-"); err != nil || out != "imported 3 events into 1 sessions\n" {
		t.Fatalf("import: %v %q", err, out)
	}
	if ids := sessionIDs(t, "--postgres", dsn); !slices.Contains(ids, session) {
		t.Fatalf("sessions --postgres lacks %s", session)
	}
	out, _, err := run(t, "", "replay", "--postgres", dsn, "--session", session, "--speed", "0")
	if err != nil || out != "w0 w1 w2 \n" {
		t.Fatalf("replay --postgres: %v %q", err, out)
	}
	if out, _, err := run(t, "", "sessions", "delete", "--postgres", dsn, session); err != nil || !strings.Contains(out, "(3 events)") {
		t.Fatalf("delete --postgres: %v %q", err, out)
	}
	if ids := sessionIDs(t, "--postgres", dsn); slices.Contains(ids, session) {
		t.Fatalf("the deleted session %s is still listed", session)
	}
}

// TestSessionsServerKey: the session commands send --key (or $SLUICE_KEY)
// to a server with keys, and say why when it refuses.
func TestSessionsServerKey(t *testing.T) {
	base, _, _ := startServe(t, "--db", filepath.Join(t.TempDir(), "keys.db"), "--key", "rw:rw-secret:ingest,read")
	if code := post(t, base+"/v1/events", "rw-secret", `{"type":"message.text.delta","meta":{"session":"k1"},"payload":{"text":"hi"}}`); code != 200 {
		t.Fatalf("post: %d", code)
	}
	if _, _, err := run(t, "", "sessions", "--server", base); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("no key: %v", err)
	}
	if ids := sessionIDs(t, "--server", base, "--key", "rw-secret"); strings.Join(ids, ",") != "k1" {
		t.Fatalf("--key: %v", ids)
	}
	t.Setenv("SLUICE_KEY", "rw-secret")
	if out, _, err := run(t, "", "replay", "--server", base, "--speed", "0"); err != nil || out != "hi\n" {
		t.Fatalf("replay with $SLUICE_KEY: %v %q", err, out)
	}
}
