//go:build unix

package server_test

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/server"
)

// BenchmarkTimelineCache measures what the server's timeline cache saves
// on a 10,000-event session in a SQLite log: the time to the first byte of
// an agui and an aisdk stream resumed at seq 9,990 (the prelude needs the
// timeline up to there), and a GET of the whole timeline, each with the
// cache cold (TimelineCacheBytes 1: nothing is kept, every request folds
// the session from scratch) and warm (the default: the fold is reused).
// cpu-ns/op is the process's CPU time (getrusage) per request, client and
// server together: steadier than wall time on a shared machine.
func BenchmarkTimelineCache(b *testing.B) {
	evs := recorded.Repeat(b, 10000)
	session := evs[0].Meta.SessionID
	reqs := []struct{ name, path, lastID string }{
		{"agui-resume", "/v1/sessions/" + session + "/stream?format=agui", "9990"},
		{"aisdk-resume", "/v1/sessions/" + session + "/stream?format=aisdk", "9990"},
		{"timeline", "/v1/sessions/" + session + "/timeline", ""},
	}
	for _, cache := range []struct {
		name  string
		bytes int64
	}{{"cold", 1}, {"warm", 0}} {
		h, url, stop := benchEnv(b, "sqlite", server.Config{TimelineCacheBytes: cache.bytes})
		if err := h.Append(context.Background(), evs); err != nil {
			b.Fatal(err)
		}
		if si, err := h.Store().Session(context.Background(), session); err != nil || si.LastSeq != uint64(len(evs)) {
			b.Fatalf("the log holds %d events of the session, want %d (%v)", si.LastSeq, len(evs), err)
		}
		for _, rq := range reqs {
			b.Run(rq.name+"/"+cache.name, func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cpuTime()
				var buf [1]byte
				for b.Loop() {
					req, err := http.NewRequest("GET", url+rq.path, nil)
					if err != nil {
						b.Fatal(err)
					}
					if rq.lastID != "" {
						req.Header.Set("Last-Event-ID", rq.lastID)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("%s: %s", rq.path, resp.Status)
					}
					if _, err := resp.Body.Read(buf[:]); err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
		stop()
	}
}

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
