package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/wire"
)

// fastClient reconnects at once and never keeps idle connections, so that
// every reconnect goes through the proxy again.
func fastClient() *wire.Client {
	return &wire.Client{
		Retry:      time.Millisecond,
		MaxRetry:   20 * time.Millisecond,
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

// TestStreamResumeThroughCuts: clients whose connections are cut at random
// points (mid-frame, mid-header) reconnect with Last-Event-ID and receive
// every event exactly once, in order, while events are being published —
// for session streams and the all-sessions stream, with the hub's live
// window, and with a window so small that feeds keep falling back to the
// store.
func TestStreamResumeThroughCuts(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []hub.Option
	}{
		{"window", nil},
		{"tiny-window", []hub.Option{hub.WithWindow(8, 1<<20)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const sessions, perSession, clientsPer = 3, 150, 2
			e := newEnv(t, server.Config{}, tc.opts...)
			proxy := newCutProxy(t, strings.TrimPrefix(e.url, "http://"), 300, 6000)
			base := "http://" + proxy.addr()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			var wg sync.WaitGroup
			// Session clients.
			for s := 0; s < sessions; s++ {
				for c := 0; c < clientsPer; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						url := fmt.Sprintf("%s/v1/sessions/s%d/stream?wait=true", base, s)
						got, err := collect(ctx, t, fastClient(), url, perSession)
						if err != nil {
							t.Errorf("session s%d client %d: %v after %d events", s, c, err, len(got))
							return
						}
						checkExactlyOnce(t, got, perSession)
						for i, r := range got {
							if r.id != strconv.Itoa(i+1) {
								t.Errorf("frame id %q, want %d", r.id, i+1)
								return
							}
						}
					}()
				}
			}
			// All-sessions clients: per session, exactly once in order;
			// cursors strictly increase.
			for c := 0; c < clientsPer; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := collect(ctx, t, fastClient(), base+"/v1/stream", sessions*perSession)
					if err != nil {
						t.Errorf("all-sessions client %d: %v after %d events", c, err, len(got))
						return
					}
					var names []string
					for s := 0; s < sessions; s++ {
						names = append(names, fmt.Sprintf("s%d", s))
					}
					checkPerSession(t, got, names, perSession)
				}()
			}
			// Publish while the clients follow, in small batches.
			for i := 0; i < perSession; i += 10 {
				for s := 0; s < sessions; s++ {
					e.publish("", fmt.Sprintf("s%d", s), i, 10)
				}
			}
			wg.Wait()
			if proxy.cuts.Load() < 5 {
				t.Errorf("only %d connections were cut", proxy.cuts.Load())
			}
			t.Logf("%d cuts", proxy.cuts.Load())
		})
	}
}
