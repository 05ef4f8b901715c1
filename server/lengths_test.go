package server_test

import (
	"strings"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
)

// Session IDs longer than store.MaxSessionIDLen and type names longer than
// event.MaxTypeLen are refused at ingest with a short error.
func TestIngestLimitsIDAndTypeLengths(t *testing.T) {
	e := newEnv(t, server.Config{})
	withSession := func(id string) string {
		return string(eventJSON(t, event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: id})))
	}
	withType := func(typ string) string {
		return `{"type":"` + typ + `","meta":{"session":"s"},"payload":{"a":1}}`
	}
	for _, tc := range []struct {
		name, body string
		ok         bool
		mention    string
	}{
		{"longest session id", withSession(strings.Repeat("s", store.MaxSessionIDLen)), true, ""},
		{"session id one byte over", withSession(strings.Repeat("s", store.MaxSessionIDLen+1)), false, "256"},
		{"100 KB session id", withSession(strings.Repeat("s", 100_000)), false, "256"},
		{"longest type", withType("a." + strings.Repeat("b", event.MaxTypeLen-2)), true, ""},
		{"type one byte over", withType("a." + strings.Repeat("b", event.MaxTypeLen-1)), false, "128"},
		{"20,000-character type", withType("a." + strings.Repeat("b", 20_000)), false, "128"},
	} {
		code, body := e.do("POST", "/v1/events", "", []byte(tc.body))
		if tc.ok {
			if code != 200 {
				t.Errorf("%s: %d %.300s", tc.name, code, body)
			}
			continue
		}
		if code != 400 || len(body) > 1000 || !strings.Contains(string(body), tc.mention) {
			t.Errorf("%s: %d (%d bytes) %.300s", tc.name, code, len(body), body)
		}
	}
	long := strings.Repeat("q", 300)
	if code, body := e.do("POST", "/v1/events?session="+long, "", []byte(`{"type":"a.b","payload":{}}`)); code != 400 || len(body) > 1000 {
		t.Errorf("?session= too long: %d %.300s", code, body)
	}
}
