package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/internal/natstest"
	"github.com/sluice-events/sluice/wire"
)

// streamN reads the first n events of an SSE stream and returns their
// sequence numbers.
func streamN(url string, n int) ([]uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	errEnough := errors.New("enough")
	var seqs []uint64
	err := (&wire.Client{Header: http.Header{}}).Stream(ctx, url, "", func(ev wire.Event) error {
		var got struct {
			Seq uint64 `json:"seq"`
		}
		if err := json.Unmarshal(ev.Data, &got); err != nil || got.Seq == 0 {
			return nil // not an event (a heartbeat, the epoch header)
		}
		if seqs = append(seqs, got.Seq); len(seqs) == n {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		return seqs, fmt.Errorf("stream %s: %w after %v", url, err, seqs)
	}
	return seqs, nil
}

func publishN(t *testing.T, base, session string, n int) {
	t.Helper()
	for i := range n {
		body := fmt.Sprintf(`{"type":"message.text.delta","meta":{"session":%q},"payload":{"text":"w%d"}}`, session, i)
		if code := post(t, base+"/v1/events", "", body); code != 200 {
			t.Fatalf("publish to %s: %d", base, code)
		}
	}
}

// TestServeNATSEmbedded: node A runs the embedded NATS server (--nats
// embedded), node B uses it (--nats URL, as SLUICE_NATS); a live stream
// on node B gets what is published to node A, in order.
func TestServeNATSEmbedded(t *testing.T) {
	natsAt := freeAddr(t)
	a, logA, _ := startServe(t, "--nats", "embedded", "--nats-listen", natsAt, "--nats-dir", filepath.Join(t.TempDir(), "nats"), "--nats-stream", "CLI")
	if !strings.Contains(logA.String(), "embedded NATS server") {
		t.Fatalf("node A log: %s", logA.String())
	}
	t.Setenv("SLUICE_NATS", "nats://"+natsAt)
	t.Setenv("SLUICE_NATS_STREAM", "CLI")
	b, logB, _ := startServe(t)
	if !strings.Contains(logB.String(), "jetstream CLI at nats://"+natsAt) {
		t.Fatalf("node B log: %s", logB.String())
	}
	type result struct {
		seqs []uint64
		err  error
	}
	got := make(chan result, 1)
	go func() {
		seqs, err := streamN(b+"/v1/sessions/shared/stream?wait=true", 3)
		got <- result{seqs, err}
	}()
	time.Sleep(100 * time.Millisecond) // let the stream start; it would get the events from the log anyway
	publishN(t, a, "shared", 3)
	if r := <-got; r.err != nil || fmt.Sprint(r.seqs) != "[1 2 3]" {
		t.Fatalf("node B streamed %v (%v), want [1 2 3]", r.seqs, r.err)
	}
}

// TestServeNATSDown: a NATS server that is down at start is an error
// naming its URL.
func TestServeNATSDown(t *testing.T) {
	url := "nats://" + freeAddr(t)
	_, _, err := run(t, "", "serve", "--nats", url, "--addr", freeAddr(t))
	if err == nil || !strings.Contains(err.Error(), url) {
		t.Fatalf("serve with NATS down: %v, want an error naming %s", err, url)
	}
}

// TestServeNATSMaxBatch: with --nats a publish request holds at most
// 1,000 events (one atomic batch); more is refused at start.
func TestServeNATSMaxBatch(t *testing.T) {
	_, _, err := run(t, "", "serve", "--nats", "nats://127.0.0.1:1", "--max-batch", "1001", "--addr", freeAddr(t))
	if err == nil || !strings.Contains(err.Error(), "--max-batch") {
		t.Fatalf("serve --nats --max-batch 1001: %v", err)
	}
}

// TestServeNATS: two nodes on the same external server share the log.
func TestServeNATS(t *testing.T) {
	url := natstest.Start(t).ClientURL()
	a, _, _ := startServe(t, "--nats", url, "--nats-stream", "TWO")
	b, _, _ := startServe(t, "--nats", url, "--nats-stream", "TWO")
	publishN(t, a, "s", 2)
	publishN(t, b, "s", 2)
	// A request of 1,000 events of 500 sessions is one atomic batch:
	// accepted.
	var many strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&many, `{"type":"message.text.delta","meta":{"session":"m%d"},"payload":{"text":"x"}}`+"\n", i%500)
	}
	req, _ := http.NewRequest("POST", b+"/v1/events", strings.NewReader(many.String()))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("publish of 1,000 events: %d", resp.StatusCode)
	}
	if seqs, err := streamN(a+"/v1/sessions/s/stream", 4); err != nil || fmt.Sprint(seqs) != "[1 2 3 4]" {
		t.Fatalf("node A streamed %v (%v), want [1 2 3 4]", seqs, err)
	}
}
