package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/timeline"
	"github.com/sluice-events/sluice/wire"
)

// TestTimelineThenStream hydrates from the timeline at a sequence number,
// streams the rest with after= that number and folds it on: the result is
// the timeline of the whole session, with no gap and no duplicate.
func TestTimelineThenStream(t *testing.T) {
	e := newEnv(t, server.Config{})
	demo := recorded.Demo(t)
	session := demo.Events[0].Meta.SessionID
	ctx := context.Background()
	if err := e.hub.Append(ctx, demo.Events); err != nil {
		t.Fatal(err)
	}
	code, body := e.do("GET", "/v1/sessions/"+session+"/timeline", "", nil)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var whole timeline.Timeline
	if err := json.Unmarshal(body, &whole); err != nil || whole.Seq != uint64(len(demo.Events)) || len(whole.Messages) != 4 {
		t.Fatalf("timeline seq %d, %d messages, %v", whole.Seq, len(whole.Messages), err)
	}
	for _, cut := range []uint64{0, 1, 20, 57} {
		code, body := e.do("GET", "/v1/sessions/"+session+"/timeline?until="+itoa(cut), "", nil)
		var tl timeline.Timeline
		if code != http.StatusOK || json.Unmarshal(body, &tl) != nil {
			t.Fatalf("until=%d: %d %s", cut, code, body)
		}
		if cut != 0 && tl.Seq != cut {
			t.Fatalf("until=%d: seq %d", cut, tl.Seq)
		}
		if cut == 0 {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		errDone := errors.New("done")
		err := (&wire.Client{}).Stream(sctx, e.url+"/v1/sessions/"+session+"/stream?after="+itoa(tl.Seq), "", func(m wire.Event) error {
			var ev event.Event
			if err := event.Unmarshal(m.Data, &ev); err != nil {
				return err
			}
			if !tl.Apply(&ev) {
				t.Errorf("event %d was in the timeline already", ev.Seq)
			}
			if ev.Seq == whole.Seq {
				return errDone
			}
			return nil
		})
		cancel()
		if !errors.Is(err, errDone) {
			t.Fatalf("stream after %d: %v", cut, err)
		}
		a, _ := json.Marshal(&tl)
		b, _ := json.Marshal(&whole)
		if !bytes.Equal(a, b) {
			t.Fatalf("after %d: hydrated timeline differs\n got %s\nwant %s", cut, a, b)
		}
	}
}

func TestTimelineBadRequests(t *testing.T) {
	e := newEnv(t, server.Config{})
	e.publish("", "s1", 1, 3)
	for _, c := range []struct {
		path string
		code int
	}{
		{"/v1/sessions/nope/timeline", http.StatusNotFound},
		{"/v1/sessions/s1/timeline?until=x", http.StatusBadRequest},
		{"/v1/sessions/s1/timeline?until=-1", http.StatusBadRequest},
		{"/v1/sessions/s1/timeline?until=2", http.StatusOK},
	} {
		code, body := e.do("GET", c.path, "", nil)
		if code != c.code {
			t.Errorf("%s: %d %s, want %d", c.path, code, body, c.code)
		}
		if code != http.StatusOK {
			decodeErr(t, body)
		}
	}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }
