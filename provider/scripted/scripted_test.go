package scripted_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/provider/scripted"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sample = `event: message_start
data: {"type":"message_start"}

: sluice-delay 40ms
event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

: a plain comment is sent as it is
data: {"choices":[{"delta":{"content":"abc","tool_calls":[{"function":{"arguments":"{}"}}]}}]}

: sluice-stall
event: message_stop
data: {"type":"message_stop"}
`

func TestParse(t *testing.T) {
	tr, err := scripted.Parse("sample", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Events) != 4 {
		t.Fatalf("%d events: %+v", len(tr.Events), tr.Events)
	}
	want := []struct {
		data  string
		delay time.Duration
		stall bool
	}{
		{"event: message_start\ndata: {\"type\":\"message_start\"}\n\n", scripted.FirstEventDelay, false},
		{"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n", 40 * time.Millisecond, false},
		{": a plain comment is sent as it is\ndata: {\"choices\":[{\"delta\":{\"content\":\"abc\",\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n",
			scripted.EventDelay + 5*scripted.ByteDelay, false},
		{"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", scripted.EventDelay, true},
	}
	for i, w := range want {
		ev := tr.Events[i]
		if string(ev.Data) != w.data || ev.Delay != w.delay || ev.Stall != w.stall {
			t.Errorf("event %d: %q %v %v, want %q %v %v", i, ev.Data, ev.Delay, ev.Stall, w.data, w.delay, w.stall)
		}
	}
	if _, err := scripted.Parse("bad", []byte(": sluice-delay soon\ndata: x\n\n")); err == nil {
		t.Error("a bad delay was accepted")
	}
	if _, err := scripted.Parse("bad", []byte(": sluice-status abc\n")); err == nil {
		t.Error("a bad status was accepted")
	}
}

func TestPlainResponse(t *testing.T) {
	tr := scripted.MustParse("429", []byte(": sluice-status 429\n: sluice-content-type application/json\n{\"error\":{}}\n"))
	srv := scripted.NewServer([]scripted.Transcript{tr})
	defer srv.Close()
	res, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Content-Type") != "application/json" || string(body) != "{\"error\":{}}\n" {
		t.Errorf("%d %s %q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/v1/chat/completions" || string(reqs[0].Body) != `{"a":1}` || reqs[0].Transcript != "429" {
		t.Errorf("requests %+v", reqs)
	}
	// Used up: a 404 that the SDKs do not retry.
	res, err = http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("after the last transcript: %d", res.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestSpeedScalesPauses(t *testing.T) {
	tr := scripted.MustParse("paced", []byte(": sluice-delay 200ms\ndata: 1\n\n: sluice-delay 200ms\ndata: 2\n\n"))
	for _, c := range []struct {
		speed    float64
		min, max time.Duration
	}{{0, 0, 150 * time.Millisecond}, {4, 100 * time.Millisecond, 350 * time.Millisecond}} {
		srv := scripted.NewServer([]scripted.Transcript{tr}, scripted.Speed(c.speed))
		start := time.Now()
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(start)
		srv.Close()
		if string(body) != "data: 1\n\ndata: 2\n\n" {
			t.Errorf("body %q", body)
		}
		// 400ms of pauses: none at speed 0, 100ms at speed 4.
		if took < c.min || took > c.max {
			t.Errorf("speed %v took %v, want %v to %v", c.speed, took, c.min, c.max)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestStallHoldsUntilTheClientGoesAway(t *testing.T) {
	tr := scripted.MustParse("stall", []byte("data: 1\n\n: sluice-stall\ndata: 2\n\n"))
	srv := scripted.NewServer([]scripted.Transcript{tr}, scripted.Speed(0))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "data: 1\n" {
		t.Fatalf("%q %v", line, err)
	}
	<-srv.Stalled()
	cancel()
	_, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err == nil {
		t.Error("the stalled body ended normally")
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestCloseEndsStalledStreams(t *testing.T) {
	tr := scripted.MustParse("stall", []byte("data: 1\n\n: sluice-stall\n"))
	srv := scripted.NewServer([]scripted.Transcript{tr}, scripted.Speed(0), scripted.Loop())
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	<-srv.Stalled()
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a stalled stream")
	}
	_, _ = io.ReadAll(res.Body)
	res.Body.Close()
	http.DefaultClient.CloseIdleConnections()
}

func TestWeatherAgentTranscripts(t *testing.T) {
	ts := scripted.WeatherAgent()
	if len(ts) != 2 {
		t.Fatalf("%d transcripts", len(ts))
	}
	for _, tr := range ts {
		if len(tr.Events) < 5 {
			t.Errorf("%s: %d events", tr.Name, len(tr.Events))
		}
		// Paced for a demo: a second or two each at speed 1.
		if d := tr.Duration(); d < 500*time.Millisecond || d > 4*time.Second {
			t.Errorf("%s lasts %v", tr.Name, d)
		}
	}
}
