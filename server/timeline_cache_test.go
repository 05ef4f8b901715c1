package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/timeline"
)

// fresh is the timeline of session folded from scratch, encoded.
func (e *env) fresh(session string) (*timeline.Timeline, []byte) {
	e.t.Helper()
	tl, err := timeline.Read(context.Background(), e.st, session, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := json.Marshal(tl)
	return tl, append(b, '\n')
}

// appendDemo appends the demo's events (new IDs) to session, from index lo
// to hi.
func (e *env) appendDemo(session string, evs []event.Event) {
	e.t.Helper()
	out := make([]event.Event, len(evs))
	for i, ev := range evs {
		ev.ID, ev.Meta.SessionID, ev.Seq = uuid.Must(uuid.NewV7()), session, 0
		out[i] = ev
	}
	if err := e.hub.Append(context.Background(), out); err != nil {
		e.t.Fatal(err)
	}
}

// TestTimelineGrowsAndRestarts: the endpoint answers what a fold from
// scratch gives while the session grows, and after the session is deleted
// and started again under the same ID (shorter than before).
func TestTimelineGrowsAndRestarts(t *testing.T) {
	e := newEnv(t, server.Config{})
	demo := recorded.Demo(t).Events
	check := func(when string) {
		t.Helper()
		code, body := e.do("GET", "/v1/sessions/grow/timeline", "", nil)
		if _, want := e.fresh("grow"); code != http.StatusOK || !bytes.Equal(body, want) {
			t.Fatalf("%s: %d\n got %s\nwant %s", when, code, body, want)
		}
	}
	for lo := 0; lo < len(demo); lo += 10 {
		e.appendDemo("grow", demo[lo:min(lo+10, len(demo))])
		check(fmt.Sprint("after ", min(lo+10, len(demo)), " events"))
		check("again")
	}
	if code, body := e.do("DELETE", "/v1/sessions/grow", "", nil); code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, body)
	}
	e.appendDemo("grow", demo[:len(demo)/2])
	check("after delete and a shorter restart")
	// Deleted behind the server's back (another node, say): the cache sees
	// the event it folded last is gone.
	if err := e.st.Delete(context.Background(), "grow"); err != nil {
		t.Fatal(err)
	}
	e.appendDemo("grow", demo)
	check("after a delete the server did not see")
}

// TestTimelineTooLarge: a timeline over MaxResponseBytes is refused with
// 413 and a JSON error; its events can still be read.
func TestTimelineTooLarge(t *testing.T) {
	e := newEnv(t, server.Config{MaxResponseBytes: 2048})
	demo := recorded.Demo(t).Events
	e.appendDemo("big", demo[:3])
	if code, body := e.do("GET", "/v1/sessions/big/timeline", "", nil); code != http.StatusOK {
		t.Fatalf("small timeline: %d %s", code, body)
	}
	e.appendDemo("big", demo[3:])
	code, body := e.do("GET", "/v1/sessions/big/timeline", "", nil)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("large timeline: %d %s, want 413", code, body)
	}
	if eb := decodeErr(t, body); eb.Error.Code != server.CodeTooLarge {
		t.Fatalf("code %q, want %q", eb.Error.Code, server.CodeTooLarge)
	}
	if code, body := e.do("GET", "/v1/sessions/big/timeline?until=3", "", nil); code != http.StatusOK {
		t.Fatalf("a prefix under the bound: %d %s", code, body)
	}
	if code, body := e.do("GET", "/v1/sessions/big/events?limit=5", "", nil); code != http.StatusOK {
		t.Fatalf("events: %d %s", code, body)
	}
}

type summaryPage struct {
	Sessions []struct {
		ID      string            `json:"id"`
		LastSeq uint64            `json:"last_seq"`
		Summary *timeline.Summary `json:"summary"`
	} `json:"sessions"`
	Next string `json:"next"`
}

// TestSessionsSummary: GET /v1/sessions?summary=1 gives each session of
// the page its timeline summary, follows sessions as they grow, shows a
// tenant only its own, bounds the page, and refuses a bad value.
func TestSessionsSummary(t *testing.T) {
	e := newEnv(t, server.Config{Keys: []server.Key{
		{Name: "admin", Secret: "admin-secret-1", Scopes: []server.Scope{server.ScopeAdmin}},
		{Name: "acme", Secret: "acme-secret-12", Scopes: []server.Scope{server.ScopeRead}, SessionPrefix: "acme-"},
	}})
	demo := recorded.Demo(t).Events
	e.appendDemo("acme-1", demo)
	e.appendDemo("acme-2", demo[:len(demo)/2])
	e.appendDemo("other", demo)
	get := func(key, query string) summaryPage {
		t.Helper()
		code, body := e.do("GET", "/v1/sessions?"+query, key, nil)
		var p summaryPage
		if code != http.StatusOK || json.Unmarshal(body, &p) != nil {
			t.Fatalf("%s: %d %s", query, code, body)
		}
		return p
	}
	check := func(p summaryPage, ids ...string) {
		t.Helper()
		if len(p.Sessions) != len(ids) {
			t.Fatalf("%d sessions, want %v", len(p.Sessions), ids)
		}
		for i, s := range p.Sessions {
			tl, _ := e.fresh(s.ID)
			if s.ID != ids[i] || s.Summary == nil || !reflect.DeepEqual(*s.Summary, tl.Summary()) || s.Summary.Seq != s.LastSeq {
				t.Fatalf("session %s: summary %+v, want %+v at %d", s.ID, s.Summary, tl.Summary(), s.LastSeq)
			}
		}
	}
	p := get("admin-secret-1", "summary=1")
	check(p, "acme-1", "acme-2", "other")
	if s := p.Sessions[0].Summary; len(s.Models) == 0 || s.Tokens == 0 || s.Messages == 0 {
		t.Fatalf("the demo's summary is empty: %+v", s)
	}
	check(get("acme-secret-12", "summary=1"), "acme-1", "acme-2")
	e.appendDemo("acme-2", demo[len(demo)/2:])
	check(get("acme-secret-12", "summary=1"), "acme-1", "acme-2")
	for _, s := range get("admin-secret-1", "").Sessions {
		if s.Summary != nil {
			t.Fatalf("a summary without summary=1: %+v", s)
		}
	}
	if code, body := e.do("GET", "/v1/sessions?summary=yes", "admin-secret-1", nil); code != http.StatusBadRequest {
		t.Fatalf("summary=yes: %d %s", code, body)
	}
	for i := range server.MaxSummaryPage + 5 {
		e.publish("admin-secret-1", fmt.Sprintf("zz-%03d", i), 0, 1)
	}
	p = get("admin-secret-1", "summary=1&limit=1000")
	if len(p.Sessions) != server.MaxSummaryPage || p.Next == "" {
		t.Fatalf("summary page of %d sessions (next %q), want %d and a next page", len(p.Sessions), p.Next, server.MaxSummaryPage)
	}
	if p = get("admin-secret-1", "limit=1000"); len(p.Sessions) != server.MaxSummaryPage+8 {
		t.Fatalf("plain page of %d sessions, want %d", len(p.Sessions), server.MaxSummaryPage+8)
	}
}

// TestTimelineCacheMetrics: /metrics counts the cache's misses and hits.
func TestTimelineCacheMetrics(t *testing.T) {
	e := newEnv(t, server.Config{})
	e.appendDemo("m", recorded.Demo(t).Events)
	for range 3 {
		if code, body := e.do("GET", "/v1/sessions/m/timeline", "", nil); code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
	}
	_, body := e.do("GET", "/metrics", "", nil)
	for _, want := range []string{
		"sluice_server_timeline_cache_misses_total 1\n",
		"sluice_server_timeline_cache_hits_total 2\n",
		"sluice_server_timeline_cache_sessions 1\n",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestSessionsSummaryBudget: the events one summary page may fold are
// bounded by MaxScan: with a budget of one session's events, a cold page
// of three gives the first session its summary and leaves the others
// without; each later request, finding more of them in the cache, gives
// one more, until all three have theirs.
func TestSessionsSummaryBudget(t *testing.T) {
	demo := recorded.Demo(t).Events
	e := newEnv(t, server.Config{MaxScan: len(demo)})
	for _, id := range []string{"a", "b", "c"} {
		e.appendDemo(id, demo)
	}
	for want := 1; want <= 3; want++ {
		code, body := e.do("GET", "/v1/sessions?summary=1", "", nil)
		var p summaryPage
		if code != http.StatusOK || json.Unmarshal(body, &p) != nil || len(p.Sessions) != 3 {
			t.Fatalf("request %d: %d %s", want, code, body)
		}
		got := 0
		for _, s := range p.Sessions {
			if s.Summary != nil {
				got++
				if s.Summary.Seq != s.LastSeq {
					t.Fatalf("request %d: session %s summarized at %d of %d", want, s.ID, s.Summary.Seq, s.LastSeq)
				}
			}
		}
		if got != want {
			t.Fatalf("request %d: %d sessions with a summary, want %d", want, got, want)
		}
	}
}
