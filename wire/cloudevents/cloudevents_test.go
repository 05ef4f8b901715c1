package cloudevents_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	ce "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/wire/cloudevents"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func native(t testing.TB, ev event.Event) string {
	t.Helper()
	ev.Seq = 0
	b, err := event.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSDKReadsEveryEvent: the official Go SDK reads every event of every
// recorded session as a valid CloudEvent with the attributes Sluice
// promises, and decoding gives the Sluice event back.
func TestSDKReadsEveryEvent(t *testing.T) {
	for _, s := range recorded.All(t) {
		for _, ev := range s.Events {
			ev.Meta.Labels = map[string]string{"team": "a"}
			b, err := cloudevents.Append(nil, &ev)
			if err != nil {
				t.Fatal(err)
			}
			var c ce.Event
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("%s: the SDK cannot read %s: %v", s.Name, b, err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("%s: invalid CloudEvent %s: %v", s.Name, b, err)
			}
			seq, _ := c.Extensions()["sequence"].(string)
			if c.SpecVersion() != "1.0" || c.ID() != ev.ID.String() || c.Type() != string(ev.Type) || c.Subject() != ev.Meta.SessionID ||
				c.Source() != cloudevents.Source(ev.Meta.SessionID) || !c.Time().Equal(ev.Time) || c.DataContentType() != "application/json" || seq == "" {
				t.Fatalf("%s: attributes of %s", s.Name, b)
			}
			back, err := cloudevents.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := native(t, back), native(t, ev); got != want {
				t.Fatalf("round trip:\n got %s\nwant %s", got, want)
			}
		}
	}
}

// TestIngestFromSDK posts CloudEvents made by the SDK in binary,
// structured and batch mode, and reads them back as a CloudEvents batch,
// and as a CloudEvents SSE stream.
func TestIngestFromSDK(t *testing.T) {
	url := servetest.Serve(t, nil)
	mk := func(id string, n int) ce.Event {
		e := ce.New()
		e.SetID(id)
		e.SetSource("urn:test")
		e.SetType("message.text.delta")
		e.SetSubject("s1")
		e.SetTime(time.Date(2026, 12, 1, 0, 0, n, 0, time.UTC))
		e.SetExtension("runid", "r1")
		if err := e.SetData("application/json", map[string]any{"text": "piece " + strings.Repeat("x", n)}); err != nil {
			t.Fatal(err)
		}
		return e
	}
	post := func(req *http.Request) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	for i, ctx := range []context.Context{binding.WithForceBinary(context.Background()), binding.WithForceStructured(context.Background())} {
		e := mk("e"+string(rune('1'+i)), i+1)
		req, _ := http.NewRequest("POST", url+"/v1/events", nil)
		if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
			t.Fatal(err)
		}
		post(req)
	}
	batch, _ := json.Marshal([]ce.Event{mk("e3", 3), mk("e4", 4)})
	req, _ := http.NewRequest("POST", url+"/v1/events", bytes.NewReader(batch))
	req.Header.Set("Content-Type", cloudevents.BatchContentType)
	post(req)

	req, _ = http.NewRequest("GET", url+"/v1/sessions/s1/events", nil)
	req.Header.Set("Accept", cloudevents.BatchContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != cloudevents.BatchContentType || resp.Header.Get("Sluice-Next-After") != "4" || resp.Header.Get("Sluice-More") != "false" {
		t.Fatalf("headers %v", resp.Header)
	}
	var got []ce.Event
	if err := json.Unmarshal(body, &got); err != nil || len(got) != 4 {
		t.Fatalf("%d events, %v: %s", len(got), err, body)
	}
	for i, e := range got {
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
		var d event.TextDelta
		if err := e.DataAs(&d); err != nil || d.Text != "piece "+strings.Repeat("x", i+1) || e.Extensions()["runid"] != "r1" || e.Subject() != "s1" {
			t.Fatalf("event %d: %v %+v %v", i, err, d, e)
		}
		if e.Extensions()["sequence"] != string(rune('1'+i)) {
			t.Fatalf("sequence %v", e.Extensions()["sequence"])
		}
	}
	// The same CloudEvent id from the same source is the same Sluice event.
	if got[0].ID() == got[1].ID() {
		t.Fatal("distinct CloudEvents got one ID")
	}

	// SSE: every data: line is a structured CloudEvent.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", url+"/v1/stream?format=cloudevents", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	n := 0
	for n < 4 && sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e ce.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Validate() != nil || e.Type() != "message.text.delta" {
			t.Fatalf("SSE data %s: %v", line, err)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d CloudEvents streamed", n)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, c := range []string{
		``, `[]`, `{}`, `{"specversion":"0.3","id":"1","source":"s","type":"a.b"}`,
		`{"specversion":"1.0","source":"s","type":"a.b"}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"a.b","datacontenttype":"text/plain","data":"x"}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"a.b","data_base64":"eA=="}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"a.b","sluicelabels":"nope"}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"message.text.delta","data":{"text":5}}`,
	} {
		if _, err := cloudevents.Decode([]byte(c)); !errors.Is(err, cloudevents.ErrInvalid) {
			t.Errorf("Decode(%s) = %v, want ErrInvalid", c, err)
		}
	}
	if _, err := cloudevents.DecodeBatch([]byte(`{"not":"an array"}`)); !errors.Is(err, cloudevents.ErrInvalid) {
		t.Errorf("DecodeBatch: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"s","type":"message.text.delta","data":{"text":"hi"},"runid":"r","sluicelabels":"{\"a\":\"b\"}"}`))
	f.Add([]byte(`[{"specversion":"1.0","id":"1","source":"s","type":"x.y"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if ev, err := cloudevents.Decode(data); err == nil {
			b, err := cloudevents.Append(nil, &ev)
			if err != nil {
				t.Fatalf("a decoded event does not encode: %v", err)
			}
			if _, err := cloudevents.Decode(b); err != nil {
				t.Fatalf("re-decoding %s: %v", b, err)
			}
		}
		cloudevents.DecodeBatch(data)
	})
}
