package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
)

type sessionsBody struct {
	Sessions []struct {
		ID      string `json:"id"`
		Count   uint64 `json:"count"`
		LastPos uint64 `json:"last_pos"`
	} `json:"sessions"`
	Next       string `json:"next"`
	NextBefore uint64 `json:"next_before"`
}

// listAll pages through GET /v1/sessions with query, following the page
// cursors, and returns the session IDs and the number of pages.
func (e *env) listAll(query url.Values) ([]string, int) {
	e.t.Helper()
	var ids []string
	for pages := 1; pages < 100; pages++ {
		code, body := e.do("GET", "/v1/sessions?"+query.Encode(), "", nil)
		if code != http.StatusOK {
			e.t.Fatalf("GET /v1/sessions?%s: %d %s", query.Encode(), code, body)
		}
		var page sessionsBody
		if err := json.Unmarshal(body, &page); err != nil {
			e.t.Fatal(err)
		}
		for _, s := range page.Sessions {
			ids = append(ids, s.ID)
		}
		switch {
		case page.NextBefore != 0:
			query.Set("before", fmt.Sprint(page.NextBefore))
		case page.Next != "":
			query.Set("after", page.Next)
		default:
			return ids, pages
		}
	}
	e.t.Fatal("the sessions listing does not end")
	return nil, 0
}

// seedSessions appends to sessions s0…s7 in an order that is not their
// ID order; s1, s4 and s6 get a tool call. Newest first they are s3, s6,
// s1, s0, s5, s7, s4, s2.
func seedSessions(t *testing.T, st store.Store) {
	t.Helper()
	for _, n := range []int{2, 4, 7, 5, 0, 1, 6, 3, 1} {
		sess := fmt.Sprintf("s%d", n)
		evs := []event.Event{mkEvent(sess, n)}
		if n == 1 || n == 4 || n == 6 {
			evs = append(evs, event.New(event.ToolCallStarted{Name: "search"}, event.Meta{SessionID: sess}))
		}
		if err := st.Append(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSessionsRecent(t *testing.T) {
	e := newEnv(t, server.Config{MaxSessionScan: 3})
	seedSessions(t, e.st)
	newest := []string{"s1", "s3", "s6", "s0", "s5", "s7", "s4", "s2"}
	for _, limit := range []string{"1", "3", "8", "100"} {
		got, _ := e.listAll(url.Values{"order": {"recent"}, "limit": {limit}})
		if !slices.Equal(got, newest) {
			t.Fatalf("order=recent limit=%s: %q, want %q", limit, got, newest)
		}
	}
	got, _ := e.listAll(url.Values{"limit": {"3"}})
	if want := []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}; !slices.Equal(got, want) {
		t.Fatalf("order by ID: %q, want %q", got, want)
	}

	// With a type filter, pages examine at most MaxSessionScan (3)
	// sessions: the listing takes more pages, some short, and ends with
	// exactly the matching sessions in order.
	got, pages := e.listAll(url.Values{"order": {"recent"}, "types": {"tool.>"}, "limit": {"10"}})
	if want := []string{"s1", "s6", "s4"}; !slices.Equal(got, want) || pages < 3 {
		t.Fatalf("order=recent types=tool.>: %q in %d pages, want %q in at least 3", got, pages, want)
	}
	// The events of the sessions examined bound a page too (MaxScan), but
	// a page examines at least one session.
	small := newEnv(t, server.Config{MaxScan: 2})
	seedSessions(t, small.st)
	got, pages = small.listAll(url.Values{"order": {"recent"}, "types": {"tool.>"}})
	if want := []string{"s1", "s6", "s4"}; !slices.Equal(got, want) || pages < 6 {
		t.Fatalf("order=recent types=tool.> with MaxScan 2: %q in %d pages, want %q in at least 6", got, pages, want)
	}
	got, _ = e.listAll(url.Values{"types": {"tool.call.started"}, "limit": {"1"}})
	if want := []string{"s1", "s4", "s6"}; !slices.Equal(got, want) {
		t.Fatalf("types=tool.call.started by ID: %q, want %q", got, want)
	}
	got, _ = e.listAll(url.Values{"order": {"recent"}, "types": {"agent.>"}})
	if len(got) != 0 {
		t.Fatalf("types=agent.>: %q, want none", got)
	}

	// A session that gets an event moves to the front.
	if err := e.st.Append(t.Context(), []event.Event{mkEvent("s2", 9)}); err != nil {
		t.Fatal(err)
	}
	code, body := e.do("GET", "/v1/sessions?order=recent&limit=2", "", nil)
	var page sessionsBody
	if err := json.Unmarshal(body, &page); code != http.StatusOK || err != nil || len(page.Sessions) != 2 ||
		page.Sessions[0].ID != "s2" || page.Sessions[1].ID != "s1" || page.NextBefore != page.Sessions[1].LastPos {
		t.Fatalf("after an append to s2: %d %s", code, body)
	}

	for _, bad := range []struct{ query, says string }{
		{"order=newest", "recent"},
		{"order=recent&after=s1", "before"},
		{"before=4", "order=recent"},
		{"order=recent&before=x", "cursor"},
		{"order=recent&before=0", "cursor"},
		{"types=tool..x", "types"},
		{"limit=0", "limit"},
	} {
		code, body := e.do("GET", "/v1/sessions?"+bad.query, "", nil)
		if code != http.StatusBadRequest || decodeErr(t, body).Error.Code != server.CodeBadRequest || !strings.Contains(string(body), bad.says) {
			t.Errorf("GET /v1/sessions?%s: %d %s, want 400 naming %q", bad.query, code, body, bad.says)
		}
	}
}

func TestSessionsRecentRPC(t *testing.T) {
	e := newEnv(t, server.Config{})
	seedSessions(t, e.st)
	call := func(params string) (sessionsBody, *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}) {
		t.Helper()
		code, body := e.do("POST", "/v1/rpc", "", []byte(`{"jsonrpc":"2.0","id":1,"method":"sessions.list","params":`+params+`}`))
		if code != http.StatusOK {
			t.Fatalf("sessions.list %s: %d %s", params, code, body)
		}
		var resp struct {
			Result sessionsBody `json:"result"`
			Error  *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.Result, resp.Error
	}
	var got []string
	params := `{"order":"recent","types":"tool.>","limit":2}`
	for range 10 {
		page, rerr := call(params)
		if rerr != nil {
			t.Fatalf("sessions.list %s: %+v", params, rerr)
		}
		for _, s := range page.Sessions {
			got = append(got, s.ID)
		}
		if page.NextBefore == 0 {
			break
		}
		params = fmt.Sprintf(`{"order":"recent","types":"tool.>","limit":2,"before":%d}`, page.NextBefore)
	}
	if want := []string{"s1", "s6", "s4"}; !slices.Equal(got, want) {
		t.Fatalf("sessions.list order=recent types=tool.>: %q, want %q", got, want)
	}
	if _, rerr := call(`{"order":"oldest"}`); rerr == nil || !strings.Contains(rerr.Message, `"recent"`) {
		t.Fatalf("sessions.list with a bad order: %+v, want an error naming the valid orders", rerr)
	}
	if _, rerr := call(`{"before":3}`); rerr == nil {
		t.Fatal("sessions.list with before and order by ID: no error")
	}
}

// FuzzSessionsParams: any parameters of GET /v1/sessions get 200 with a
// page in the asked order, within its bounds, or 400 with a JSON error;
// never a panic or a 500.
func FuzzSessionsParams(f *testing.F) {
	st := memStore(f)
	h, err := hub.New(st)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = h.Close(context.Background()) })
	srv, err := server.New(context.Background(), server.Config{Hub: h, Logger: quietLogger(), MaxSessionScan: 4})
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range []int{2, 4, 7, 5, 0, 1, 6, 3, 1} {
		evs := []event.Event{mkEvent(fmt.Sprintf("s%d", n), n)}
		if n%3 == 1 {
			evs = append(evs, event.New(event.ToolCallStarted{Name: "x"}, event.Meta{SessionID: fmt.Sprintf("s%d", n)}))
		}
		if err := st.Append(context.Background(), evs); err != nil {
			f.Fatal(err)
		}
	}
	f.Add("recent", "", "5", "tool.>", "2", "s")
	f.Add("id", "s3", "", "", "", "")
	f.Add("newest", "x", "-1", "a..b", "0", "\x00")
	f.Fuzz(func(t *testing.T, order, after, before, types, limit, prefix string) {
		q := url.Values{}
		for k, v := range map[string]string{"order": order, "after": after, "before": before, "types": types, "limit": limit, "prefix": prefix} {
			if v != "" {
				q.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://127.0.0.1/v1/sessions?"+q.Encode(), nil)
		req.RemoteAddr = "127.0.0.1:40000"
		srv.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusBadRequest {
			if decodeErr(t, body).Error.Code != server.CodeBadRequest {
				t.Fatalf("400 without a bad_request error: %s", body)
			}
			return
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /v1/sessions?%s: %d %s", q.Encode(), rec.Code, body)
		}
		var page sessionsBody
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if n, err := strconv.Atoi(limit); err == nil && len(page.Sessions) > n {
			t.Fatalf("%d sessions, more than limit=%d", len(page.Sessions), n)
		}
		b, _ := strconv.ParseUint(before, 10, 64)
		for i, s := range page.Sessions {
			if !strings.HasPrefix(s.ID, prefix) || order == "recent" && b > 0 && s.LastPos >= b || order != "recent" && s.ID <= after {
				t.Fatalf("session %+v outside the query %s", s, q.Encode())
			}
			if i > 0 && (order == "recent" && s.LastPos >= page.Sessions[i-1].LastPos || order != "recent" && s.ID <= page.Sessions[i-1].ID) {
				t.Fatalf("sessions out of order: %s", body)
			}
		}
	})
}
