package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store/sqlite"
)

// acks posts body to /v1/events and returns the acknowledged seqs.
func acks(t *testing.T, e *env, body []byte, hdr ...string) []uint64 {
	t.Helper()
	code, resp := e.do("POST", "/v1/events", "", body, hdr...)
	var res struct {
		Count  int `json:"count"`
		Events []struct {
			Seq uint64 `json:"seq"`
		} `json:"events"`
	}
	if err := json.Unmarshal(resp, &res); code != 200 || err != nil || res.Count != len(res.Events) {
		t.Fatalf("POST /v1/events: %d %s", code, resp)
	}
	var seqs []uint64
	for _, a := range res.Events {
		seqs = append(seqs, a.Seq)
	}
	return seqs
}

// TestIngestRetry: a producer that retries a POST /v1/events (it timed
// out, or lost the answer) stores nothing twice: every event it sent before
// is acknowledged with the seq it already has.
func TestIngestRetry(t *testing.T) {
	e := newEnv(t, server.Config{})
	a, b, c := eventJSON(t, mkEvent("s1", 0)), eventJSON(t, mkEvent("s1", 1)), eventJSON(t, mkEvent("s1", 2))
	first := []byte(fmt.Sprintf("[%s,%s]", a, b))
	if got := acks(t, e, first); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("first POST acked %v", got)
	}
	if got := acks(t, e, first); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("retried POST acked %v, want the same seqs", got)
	}
	// A retry that carries new events too, and a duplicate in one request.
	nd := []byte(fmt.Sprintf("%s\n%s\n%s\n%s\n", b, c, a, c))
	if got := acks(t, e, nd, "Content-Type", "application/x-ndjson"); !slices.Equal(got, []uint64{2, 3, 1, 3}) {
		t.Fatalf("mixed POST acked %v, want [2 3 1 3]", got)
	}
	checkSession(t, e, "s1", 3)
}

// TestIngestRetryAfterRestart: the same holds when the server restarted
// between the POST and its retry, over a SQLite log.
func TestIngestRetryAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluice.db")
	body := []byte(fmt.Sprintf("[%s,%s,%s]", eventJSON(t, mkEvent("s1", 0)), eventJSON(t, mkEvent("s2", 0)), eventJSON(t, mkEvent("s1", 1))))
	serve := func() (got []uint64) {
		t.Run("serve", func(t *testing.T) {
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			h, err := hub.New(st)
			if err != nil {
				st.Close()
				t.Fatal(err)
			}
			srv, err := server.New(context.Background(), server.Config{Hub: h, Logger: quietLogger()})
			if err != nil {
				h.Close(context.Background())
				st.Close()
				t.Fatal(err)
			}
			e := serveEnv(t, srv, h, st)
			got = acks(t, e, body)
			checkSession(t, e, "s1", 2)
			checkSession(t, e, "s2", 1)
			if head, err := st.Head(context.Background()); err != nil || head != 3 {
				t.Fatalf("Head = %d, %v; want 3", head, err)
			}
		})
		return got
	}
	first := serve()
	if again := serve(); !slices.Equal(first, again) || !slices.Equal(first, []uint64{1, 1, 2}) {
		t.Fatalf("acks before the restart %v, after %v; want [1 1 2] twice", first, again)
	}
}
