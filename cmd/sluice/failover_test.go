package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/wire"
)

// nodeEnv, when set (a JSON array of arguments), makes this test binary
// run sluice with them instead of the tests: a node of TestFailover, in a
// process of its own that the test can kill.
const nodeEnv = "SLUICE_TEST_NODE_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(nodeEnv); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		cmd := newRootCmd()
		cmd.SetArgs(a)
		if err := cmd.ExecuteContext(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "sluice:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestFailover is the multi-node test: three `sluice serve` nodes, each
// with an embedded NATS server, form one JetStream cluster holding the
// log in a stream of three replicas. A client streams a session from node
// B while a producer publishes to node A; node A — and with it one of the
// three NATS servers — is killed with SIGKILL mid-stream; the producer
// goes on at node B, sending again (with the same event ID) the event it
// had no answer for. The client ends with every event exactly once, in
// order, and every event acknowledged to the producer is in the log.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster: not with -short")
	}
	type node struct{ http, nats, route string }
	nodes := make([]node, 3)
	for i := range nodes {
		nodes[i] = node{http: freeAddr(t), nats: freeAddr(t), route: freeAddr(t)}
	}
	dir := t.TempDir()
	procs := make([]*child, 3)
	for i, n := range nodes {
		args := []string{"serve", "--addr", n.http, "--shutdown-timeout", "1s", "--log-level", "warn",
			"--nats", "embedded", "--nats-listen", n.nats, "--nats-dir", filepath.Join(dir, fmt.Sprint("n", i)),
			"--nats-name", fmt.Sprint("n", i), "--nats-cluster-listen", n.route, "--nats-replicas", "3", "--nats-stream", "FAILOVER"}
		for j, o := range nodes {
			if j != i {
				args = append(args, "--nats-route", "nats://"+o.route)
			}
		}
		procs[i] = startSluice(t, n.http, args...)
	}
	for _, p := range procs {
		p.ready(t)
	}
	a, b := procs[0], procs[1]
	t.Cleanup(http.DefaultClient.CloseIdleConnections)

	const total, killAt = 200, 80
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	// The client follows the session on node B, resuming by itself.
	var mu sync.Mutex
	var seen []string
	streamed := make(chan error, 1)
	go func() {
		errEnough := errors.New("enough")
		c := &wire.Client{Header: http.Header{}, Retry: 50 * time.Millisecond, MaxRetry: time.Second}
		err := c.Stream(ctx, "http://"+b.http+"/v1/sessions/fo/stream?wait=true", "", func(ev wire.Event) error {
			var got struct {
				Payload struct {
					Text string `json:"text"`
				} `json:"payload"`
			}
			if json.Unmarshal(ev.Data, &got) != nil || got.Payload.Text == "" {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			if seen = append(seen, got.Payload.Text); len(seen) == total {
				return errEnough
			}
			return nil
		})
		if errors.Is(err, errEnough) {
			err = nil
		}
		streamed <- err
	}()

	// The producer: each event has its own ID, so sending it again after
	// a lost answer is safe (the log keeps one copy).
	target := a
	acked := make(map[string]uint64)
	for i := range total {
		if i == killAt {
			a.kill(t) // SIGKILL: node A and its NATS server
			target = b
		}
		text := fmt.Sprint("e", i)
		body := fmt.Sprintf(`{"id":%q,"type":"message.text.delta","meta":{"session":"fo"},"payload":{"text":%q}}`, uuid.Must(uuid.NewV7()).String(), text)
		for attempt := 0; ; attempt++ {
			seq, err := postEvent(ctx, "http://"+target.http+"/v1/events", body)
			if err == nil {
				acked[text] = seq
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("event %d not acknowledged in time: %v", i, err)
			}
			if target == a {
				target = b // node A is gone: go on at node B
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := <-streamed; err != nil {
		mu.Lock()
		t.Fatalf("the client on node B: %v after %d events", err, len(seen))
	}
	for i, text := range seen {
		if want := fmt.Sprint("e", i); text != want {
			t.Fatalf("the client's event %d is %s, want %s: every event once, in order (got %v)", i, text, want, seen)
		}
	}
	// Every acknowledged event is in the log once, with the seq it was
	// acknowledged with, and the session's numbers have no gap.
	resp, err := http.Get("http://" + b.http + "/v1/sessions/fo/events?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Events []struct {
			Seq     uint64 `json:"seq"`
			Payload struct {
				Text string `json:"text"`
			} `json:"payload"`
		} `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != total {
		t.Fatalf("the log holds %d events, want %d", len(page.Events), total)
	}
	for i, ev := range page.Events {
		if ev.Seq != uint64(i+1) || acked[ev.Payload.Text] != ev.Seq {
			t.Fatalf("stored event %d: seq %d text %s (acknowledged as %d)", i, ev.Seq, ev.Payload.Text, acked[ev.Payload.Text])
		}
	}
}

// postEvent publishes one event and returns its seq from the answer.
func postEvent(ctx context.Context, url, body string) (uint64, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var ack struct {
		Events []struct {
			Seq uint64 `json:"seq"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &ack); err != nil || len(ack.Events) != 1 {
		return 0, fmt.Errorf("answer %s: %v", b, err)
	}
	return ack.Events[0].Seq, nil
}
