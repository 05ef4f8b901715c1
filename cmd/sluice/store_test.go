package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/event"
)

// TestDemoRecordListReplay is the newcomer's path: record a demo into a
// database, list its sessions, replay the session.
func TestDemoRecordListReplay(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	live, _, err := run(t, "", "demo", "--speed", "0", "--format", "json", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	liveLines := strings.Split(strings.TrimSpace(live), "\n")

	out, _, err := run(t, "", "sessions", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sessions []struct {
		ID      string `json:"id"`
		Count   int    `json:"count"`
		LastSeq int    `json:"last_seq"`
	}
	if err := json.Unmarshal([]byte(out), &sessions); err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 || sessions[0].Count != len(liveLines) || sessions[0].LastSeq != len(liveLines) {
		t.Fatalf("sessions = %+v, want one with %d events", sessions, len(liveLines))
	}
	table, _, err := run(t, "", "sessions", "--db", db)
	if err != nil || !strings.Contains(table, sessions[0].ID) || !strings.HasPrefix(table, "SESSION") {
		t.Errorf("sessions table: %v\n%s", err, table)
	}

	replayed, _, err := run(t, "", "replay", "--db", db, "--session", sessions[0].ID, "--speed", "0", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(replayed), "\n")
	if len(lines) != len(liveLines) {
		t.Fatalf("replayed %d events, recorded %d", len(lines), len(liveLines))
	}
	for i := range lines {
		var a, b event.Event
		if err := event.Unmarshal([]byte(liveLines[i]), &a); err != nil {
			t.Fatal(err)
		}
		if err := event.Unmarshal([]byte(lines[i]), &b); err != nil {
			t.Fatal(err)
		}
		if a.ID != b.ID || b.Seq != uint64(i+1) || a.Seq != b.Seq || a.Type != b.Type {
			t.Fatalf("event %d: live %s seq %d, replayed %s seq %d", i, a.Type, a.Seq, b.Type, b.Seq)
		}
	}

	text, _, err := run(t, "", "replay", "--db", db, "--session", sessions[0].ID, "--speed", "0", "--types", "message.text.>")
	if err != nil || !strings.Contains(text, "A light jacket should be enough") || strings.Contains(text, "tool.call") {
		t.Errorf("filtered replay: %v\n%s", err, text)
	}
}

func TestStoreCommandErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	if _, _, err := run(t, "", "demo", "--speed", "0", "--format", "json", "--db", db); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"sessions"},
		{"replay", "--db", db, "--server", "http://127.0.0.1:1"},
		{"replay", "--db", db, "--session", "latest", "--types", "a..b"},
		{"sessions", "delete", "--db", db},
		{"sessions", "delete", "--db", db, "nope"},
		{"sessions", "prune", "--db", db},
		{"sessions", "prune", "--db", db, "--older-than", "soon"},
		{"sessions", "export", "--db", db, "nope"},
		{"sessions", "import", "--db", db, filepath.Join(t.TempDir(), "missing.ndjson")},
		{"sessions", "--server", "not a url"},
		{"replay", "--db", db, "--session", "nope"},
		{"sessions", "--db", filepath.Join(t.TempDir(), "typo.db")},
		{"replay", "--db", db, "--session", "s", "--types", "a..b"},
		{"replay", "--db", db, "--session", "s", "--format", "xml"},
	}
	for _, args := range cases {
		if _, _, err := run(t, "", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
