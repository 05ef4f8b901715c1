package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store/sqlite"
)

// sluice sessions prints session IDs with control characters escaped and
// long IDs cut, so that no ID can drive the terminal or break the table.
func TestSessionsTableEscapesIDs(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"red\x1b[31mred", "title\x1b]0;pwned\x07", "two\nlines", "tab\there", "c1\u009bx", strings.Repeat("L", 256)}
	for _, id := range ids {
		ev := event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: id})
		if err := st.Append(ctx, []event.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	table, _, err := run(t, "", "sessions", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(table, "\x1b\x07\t\u009b") {
		t.Errorf("raw control characters in the table:\n%q", table)
	}
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(lines) != len(ids)+1 {
		t.Errorf("%d lines for %d sessions:\n%s", len(lines), len(ids), table)
	}
	for _, l := range lines {
		if len(l) > 200 {
			t.Errorf("a line of %d bytes: %.120s…", len(l), l)
		}
	}
	for _, want := range []string{`red\x1b[31mred`, `title\x1b]0;pwned\x07`, `two\nlines`, `c1\u009bx`} {
		if !strings.Contains(table, want) {
			t.Errorf("no %s in\n%s", want, table)
		}
	}
}

// TestSessionsRecent lists sessions newest activity first, from a server
// and from the database it writes.
func TestSessionsRecent(t *testing.T) {
	db := filepath.Join(t.TempDir(), "recent.db")
	base, _, _ := startServe(t, "--db", db)
	for _, sess := range []string{"b", "a", "c", "a"} {
		if code := post(t, base+"/v1/events", "", `{"type":"message.text.delta","meta":{"session":"`+sess+`"},"payload":{"text":"hi"}}`); code != 200 {
			t.Fatalf("post: %d", code)
		}
	}
	if got := strings.Join(sessionIDs(t, "--server", base, "--recent"), " "); got != "a c b" {
		t.Fatalf("sessions --recent --server: %q, want a c b", got)
	}
	if got := strings.Join(sessionIDs(t, "--server", base, "--recent", "--limit", "2"), " "); got != "a c" {
		t.Fatalf("sessions --recent --limit 2: %q, want a c", got)
	}
	if got := strings.Join(sessionIDs(t, "--db", db, "--recent"), " "); got != "a c b" {
		t.Fatalf("sessions --recent --db: %q, want a c b", got)
	}
	if got := strings.Join(sessionIDs(t, "--server", base), " "); got != "a b c" {
		t.Fatalf("sessions --server: %q, want a b c", got)
	}
}
