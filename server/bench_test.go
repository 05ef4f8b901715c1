package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/natstest"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/jetstream"
	"github.com/sluice-events/sluice/store/sqlite"
	"github.com/sluice-events/sluice/wire"
)

// benchEnv is a server over a store chosen by name, on loopback:
// "memory", "sqlite" (synchronous=FULL, the default) or "sqlite-normal".
func benchEnv(b *testing.B, storeName string, cfg server.Config) (*hub.Hub, string, func()) {
	h, url, _, done := benchEnvTimed(b, storeName, cfg)
	return h, url, done
}

// commitStore records when each event's Append returned from the store:
// its commit (for SQLite FULL, after the fsync), before the hub tells
// anyone about it.
type commitStore struct {
	store.Store
	mu     sync.Mutex
	commit map[string]time.Time // by event ID
}

func (c *commitStore) Append(ctx context.Context, events []event.Event) error {
	err := c.Store.Append(ctx, events)
	now := time.Now()
	if err == nil {
		c.mu.Lock()
		for i := range events {
			c.commit[events[i].ID.String()] = now
		}
		c.mu.Unlock()
	}
	return err
}

func benchEnvTimed(b *testing.B, storeName string, cfg server.Config) (*hub.Hub, string, *commitStore, func()) {
	if storeName == "jetstream-2node" {
		return benchTwoNodes(b, cfg)
	}
	var st store.Store
	switch storeName {
	case "memory":
		st = memStore(b)
	case "sqlite", "sqlite-normal":
		level := sqlite.Full
		if storeName == "sqlite-normal" {
			level = sqlite.Normal
		}
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.WithSynchronous(level))
		if err != nil {
			b.Fatal(err)
		}
		st = s
	default:
		b.Fatalf("unknown store %q", storeName)
	}
	cs := &commitStore{Store: st, commit: map[string]time.Time{}}
	h, url, stop := benchServer(b, cs, cfg, hub.WithCoalesce(time.Millisecond))
	return h, url, cs, stop
}

// benchServer serves a hub over st with cfg on loopback; stop closes the
// server, the hub and st.
func benchServer(b *testing.B, st store.Store, cfg server.Config, opts ...hub.Option) (*hub.Hub, string, func()) {
	h, err := hub.New(st, opts...)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Hub = h
	cfg.Logger = quietLogger()
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	return h, ts.URL, func() {
		srv.Drain()
		ts.CloseClientConnections()
		ts.Close()
		srv.Close(context.Background())
		h.Close(context.Background())
		st.Close()
	}
}

// benchTwoNodes is two nodes sharing one JetStream log (an embedded NATS
// server): producers append through node A's hub, and the server the
// clients stream from is node B's, which learns of A's appends from
// JetStream (store.Watcher), not by polling.
func benchTwoNodes(b *testing.B, cfg server.Config) (*hub.Hub, string, *commitStore, func()) {
	url := natstest.Start(b).ClientURL()
	open := func() store.Store {
		st, err := jetstream.Open(context.Background(), url, jetstream.WithStream("BENCH"))
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	stA := open()
	cs := &commitStore{Store: stA, commit: map[string]time.Time{}}
	hA, err := hub.New(cs)
	if err != nil {
		b.Fatal(err)
	}
	_, urlB, stopB := benchServer(b, open(), cfg, hub.WithCoalesce(time.Millisecond), hub.WithPoll(0))
	return hA, urlB, cs, func() {
		stopB()
		hA.Close(context.Background())
		stA.Close()
	}
}

// BenchmarkIngest measures POST /v1/events over loopback HTTP: one event
// per request and batches of 100, from 8 concurrent clients.
func BenchmarkIngest(b *testing.B) {
	for _, storeName := range []string{"memory", "sqlite"} {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", storeName, batch), func(b *testing.B) {
				_, url, done := benchEnv(b, storeName, server.Config{})
				defer done()
				var body bytes.Buffer
				body.WriteByte('[')
				for i := 0; i < batch; i++ {
					if i > 0 {
						body.WriteByte(',')
					}
					ev := event.New(event.TextDelta{Text: "hello world"}, event.Meta{SessionID: "bench"})
					ev.ID = [16]byte{} // the server stamps a fresh id
					body.Write(eventJSON(b, ev))
				}
				body.WriteByte(']')
				payload := body.Bytes()
				postParallel(b, batch, func(int) (string, []byte) { return url, payload })
			})
		}
	}
}

// BenchmarkIngestNodes: what a second node adds to ingest on a shared
// JetStream log. 8 clients post one event per request (each to a session
// of its own), all to one node, or half to each of two nodes (servers over
// two store instances on one embedded NATS server).
func BenchmarkIngestNodes(b *testing.B) {
	for _, nodes := range []int{1, 2} {
		b.Run(fmt.Sprintf("jetstream/nodes=%d", nodes), func(b *testing.B) {
			url := natstest.Start(b).ClientURL()
			var urls []string
			for range nodes {
				st, err := jetstream.Open(context.Background(), url, jetstream.WithStream("INGEST"))
				if err != nil {
					b.Fatal(err)
				}
				_, u, stop := benchServer(b, st, server.Config{})
				defer stop()
				urls = append(urls, u)
			}
			postParallel(b, 1, func(g int) (string, []byte) {
				return urls[g%len(urls)], fmt.Appendf(nil, `{"type":"message.text.delta","meta":{"session":"s%d"},"payload":{"text":"hello world"}}`, g)
			})
		})
	}
}

// postParallel posts to /v1/events from 8 goroutines (on 2 cores) until
// b.N requests are done and reports events/s; each goroutine g posts body
// (of perRequest events) to the server at base, as request(g) says.
func postParallel(b *testing.B, perRequest int, request func(g int) (base string, body []byte)) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		base, body := request(int(next.Add(1)))
		for pb.Next() {
			resp, err := client.Post(base+"/v1/events", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N*perRequest)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkFanout: 1,000 SSE clients, each following its own session,
// while 10,000 events/s in total are appended (10 per session per second,
// in ticks of 1 ms) for 5 seconds. Reports the publish-to-client latency
// (p50-ms, p99-ms, max-ms: from the event's time, set just before Append,
// to the client parsing its frame) and, apart from it, the commit-to-client
// latency (commit-p50-ms, commit-p99-ms, commit-max-ms: from the store's
// Append returning, after SQLite's fsync under synchronous=FULL, to the
// client), so the cost of durability shows apart from the cost of
// delivery. append-p50-ms and append-p99-ms are the producers' Append
// calls. Stores: memory, sqlite (synchronous=FULL, the default) and
// sqlite-normal. Clients run in the same process, so they share the 2
// cores with the server. Run it with -benchtime 1x.
func BenchmarkFanout(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  server.Config
	}{
		{"tail", server.Config{}},
	} {
		for _, storeName := range []string{"memory", "sqlite", "sqlite-normal", "jetstream-2node"} {
			b.Run(tc.name+"/"+storeName, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					fanout(b, storeName, tc.cfg, 1000, 10_000, 5*time.Second)
				}
			})
		}
	}
}

func fanout(b *testing.B, storeName string, cfg server.Config, clients, rate int, dur time.Duration) {
	h, url, cs, done := benchEnvTimed(b, storeName, cfg)
	defer done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		arrivals  []arrival
		connected sync.WaitGroup
		finished  sync.WaitGroup
		received  atomic.Int64
	)
	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: 0}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport}
	for c := 0; c < clients; c++ {
		connected.Add(1)
		finished.Add(1)
		go func() {
			defer finished.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/v1/sessions/s%04d/stream?wait=true", url, c), nil)
			resp, err := hc.Do(req)
			connected.Done()
			if err != nil {
				return
			}
			defer resp.Body.Close()
			r := wire.NewReader(resp.Body)
			var local []time.Duration
			var arr []arrival
			for {
				ev, err := r.Next()
				if err != nil {
					break
				}
				now := time.Now()
				if t, ok := eventTime(ev.Data); ok {
					local = append(local, now.Sub(t))
					arr = append(arr, arrival{id: eventID(ev.Data), at: now})
					received.Add(1)
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			arrivals = append(arrivals, arr...)
			mu.Unlock()
		}()
	}
	connected.Wait()
	time.Sleep(200 * time.Millisecond)
	// Publish from 20 producers (as many agents would), each owning every
	// 20th session and appending what is due every millisecond, so the
	// total rate holds even when one append is slow.
	const producers = 20
	var appendLat []time.Duration
	start := time.Now()
	var sentTotal atomic.Int64
	var pwg sync.WaitGroup
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for p := 0; p < producers; p++ {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			perProducer := float64(rate) / producers
			mine := clients / producers
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			sent, next := 0, 0
			var batch []event.Event
			for time.Since(start) < dur {
				<-tick.C
				due := int(time.Since(start).Seconds() * perProducer)
				batch = batch[:0]
				for ; sent < due; sent++ {
					s := p + producers*(next%mine)
					next++
					batch = append(batch, event.New(event.TextDelta{Text: "token"}, event.Meta{SessionID: fmt.Sprintf("s%04d", s)}))
				}
				if len(batch) == 0 {
					continue
				}
				t0 := time.Now()
				if err := h.Append(ctx, batch); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				appendLat = append(appendLat, d)
				mu.Unlock()
				sentTotal.Add(int64(len(batch)))
			}
		}()
	}
	pwg.Wait()
	sent := int(sentTotal.Load())
	elapsed := time.Since(start)
	// Let the last events arrive.
	deadline := time.Now().Add(5 * time.Second)
	for received.Load() < int64(sent) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	runtime.ReadMemStats(&ms1)
	cancel()
	finished.Wait()
	slices.Sort(latencies)
	q := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(len(latencies)), "delivered")
	b.ReportMetric(float64(q(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(q(1).Microseconds())/1000, "max-ms")
	var fromCommit []time.Duration
	cs.mu.Lock()
	for _, a := range arrivals {
		if t, ok := cs.commit[a.id]; ok {
			fromCommit = append(fromCommit, max(0, a.at.Sub(t)))
		}
	}
	cs.mu.Unlock()
	slices.Sort(fromCommit)
	if n := len(fromCommit); n > 0 {
		b.ReportMetric(float64(fromCommit[n/2].Microseconds())/1000, "commit-p50-ms")
		b.ReportMetric(float64(fromCommit[min(n-1, n*99/100)].Microseconds())/1000, "commit-p99-ms")
		b.ReportMetric(float64(fromCommit[n-1].Microseconds())/1000, "commit-max-ms")
	}
	if len(fromCommit) != len(arrivals) {
		b.Errorf("commit time of %d of %d events unknown", len(arrivals)-len(fromCommit), len(arrivals))
	}
	slices.Sort(appendLat)
	if len(appendLat) > 0 {
		b.ReportMetric(float64(appendLat[len(appendLat)/2].Microseconds())/1000, "append-p50-ms")
		b.ReportMetric(float64(appendLat[len(appendLat)*99/100].Microseconds())/1000, "append-p99-ms")
	}
	if len(latencies) != sent {
		b.Errorf("delivered %d of %d events", len(latencies), sent)
	}
}

// arrival is an event's arrival at a client.
type arrival struct {
	id string
	at time.Time
}

// eventID reads the "id" member of an event's JSON.
func eventID(data []byte) string {
	i := bytes.Index(data, []byte(`"id":"`))
	if i < 0 {
		return ""
	}
	rest := data[i+6:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// eventTime reads the "time" member of an event's JSON without decoding
// the rest.
func eventTime(data []byte) (time.Time, bool) {
	i := bytes.Index(data, []byte(`"time":"`))
	if i < 0 {
		return time.Time{}, false
	}
	rest := data[i+8:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}

// BenchmarkIdleSSEMemory opens 1,000 idle SSE connections from raw TCP
// clients (which hold no goroutine or buffer of their own) and reports the
// growth of the process's heap and stacks per connection: what the server
// keeps for an idle stream.
func BenchmarkIdleSSEMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		const n = 1000
		_, url, done := benchEnv(b, "memory", server.Config{})
		addr := strings.TrimPrefix(url, "http://")
		var heap, stack [2]uint64
		measure := func(i int) uint64 {
			runtime.GC()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap[i], stack[i] = ms.HeapInuse, ms.StackInuse
			return ms.HeapInuse + ms.StackInuse
		}
		before := measure(0)
		conns := make([]net.Conn, 0, n)
		for c := 0; c < n; c++ {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(conn, "GET /v1/sessions/idle%d/stream?wait=true HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", c, addr)
			conns = append(conns, conn)
		}
		// Wait until every stream has answered.
		for _, conn := range conns {
			br := bufio.NewReaderSize(conn, 512)
			if _, err := br.ReadString('\n'); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(200 * time.Millisecond)
		after := measure(1)
		b.ReportMetric(float64(after-before)/n/1024, "KiB/conn")
		b.ReportMetric(float64(heap[1]-heap[0])/n/1024, "heap-KiB/conn")
		b.ReportMetric(float64(stack[1]-stack[0])/n/1024, "stack-KiB/conn")
		b.ReportMetric(float64(runtime.NumGoroutine())/n, "goroutines/conn")
		for _, conn := range conns {
			conn.Close()
		}
		done()
	}
}
