package bus_test

// Benchmarks of the bus beside plain buffered channels carrying the same
// event.Event values. Compare the impl=bus and impl=chan rows with
//
//	go test ./bus -run '^$' -bench . -benchmem -count 6 > bus.txt
//	benchstat -col /impl bus.txt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
)

// benchEvents is how many events one iteration of a throughput benchmark
// carries from the publisher to every subscriber.
const benchEvents = 1_000_000

func benchEvent() event.Event {
	return event.New(event.TextDelta{Text: "Hello"}, event.Meta{
		RunID: "run-1", SessionID: "session-1", MessageID: "message-1", Model: "gpt",
	})
}

func BenchmarkPublishNoSubscriber(b *testing.B) {
	bs := mustNew(b)
	ctx := context.Background()
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if err := bs.Publish(ctx, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPublishNoMatch(b *testing.B) {
	bs := mustNew(b)
	defer bs.Close(context.Background())
	if _, err := bs.Subscribe(event.MustPattern("tool.>"), func(context.Context, *event.Event) {}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if err := bs.Publish(ctx, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnabled(b *testing.B) {
	bs := mustNew(b)
	defer bs.Close(context.Background())
	if _, err := bs.Subscribe(event.MustPattern("message.>"), func(context.Context, *event.Event) {}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if !bs.Enabled(ctx, event.TypeTextDelta) {
			b.Fatal("not enabled")
		}
	}
}

// BenchmarkEnabledDecoded asks about a known type whose string is one of
// many copies, as a decoded event's type of an unregistered name is.
func BenchmarkEnabledDecoded(b *testing.B) {
	bs := mustNew(b)
	defer bs.Close(context.Background())
	if _, err := bs.Subscribe(event.MustPattern("message.>"), func(context.Context, *event.Event) {}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	typs := make([]event.Type, 4096)
	for i := range typs {
		typs[i] = event.Type(strings.Clone(string(event.TypeTextDelta)))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if !bs.Enabled(ctx, typs[i%len(typs)]) {
			b.Fatal("not enabled")
		}
	}
}

// BenchmarkEnabledNewTypes asks about 1,000 type names the bus has not
// seen, which fills its match cache from empty: what a stream of arbitrary
// custom types costs. ns/type is the time per new type.
func BenchmarkEnabledNewTypes(b *testing.B) {
	bs := mustNew(b)
	defer bs.Close(context.Background())
	if _, err := bs.Subscribe(event.MustPattern("a.>"), func(context.Context, *event.Event) {}, bus.WithSync()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	typs := make([]event.Type, 1000)
	for i := range typs {
		typs[i] = event.Type(fmt.Sprintf("a.custom_%d", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, typ := range typs {
			if !bs.Enabled(ctx, typ) {
				b.Fatal("not enabled")
			}
		}
		b.StopTimer()
		s, err := bs.Subscribe(event.MustPattern("z.z"), func(context.Context, *event.Event) {}, bus.WithSync())
		if err != nil {
			b.Fatal(err)
		}
		s.Cancel() // a new table: the cache starts empty
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(typs)), "ns/type")
}

func BenchmarkPublishSync(b *testing.B) {
	bs := mustNew(b)
	defer bs.Close(context.Background())
	var n uint64
	if _, err := bs.Subscribe(event.All, func(_ context.Context, ev *event.Event) { n += ev.Seq + 1 }, bus.WithSync()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if err := bs.Publish(ctx, &ev); err != nil {
			b.Fatal(err)
		}
	}
	if n == 0 {
		b.Fatal("nothing delivered")
	}
}

// BenchmarkFanOut publishes benchEvents events per iteration from one
// goroutine to subs ordered, lossless subscribers, and times until every
// subscriber received every event.
func BenchmarkFanOut(b *testing.B) {
	for _, subs := range []int{1, 8} {
		b.Run(fmt.Sprintf("subs=%d/impl=chan", subs), func(b *testing.B) { fanOutChan(b, subs) })
		b.Run(fmt.Sprintf("subs=%d/impl=bus", subs), func(b *testing.B) { fanOutBus(b, subs) })
	}
}

func fanOutChan(b *testing.B, subs int) {
	ev := benchEvent()
	chans := make([]chan event.Event, subs)
	var wg sync.WaitGroup
	sums := make([]uint64, subs)
	for i := range chans {
		chans[i] = make(chan event.Event, bus.DefaultQueue)
	}
	b.ReportAllocs()
	for b.Loop() {
		wg.Add(subs)
		for i, ch := range chans {
			go func() {
				defer wg.Done()
				var sum uint64
				for n := 0; n < benchEvents; n++ {
					v := <-ch
					sum += v.Seq
				}
				sums[i] = sum
			}()
		}
		for n := range benchEvents {
			ev.Seq = uint64(n)
			for _, ch := range chans {
				ch <- ev
			}
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEvents, "ns/event")
	checkSums(b, sums)
}

func fanOutBus(b *testing.B, subs int) {
	ev := benchEvent()
	bs := mustNew(b)
	ctx := context.Background()
	sums := make([]uint64, subs)
	counts := make([]int, subs)
	var pending atomic.Int64
	done := make(chan struct{}, subs)
	for i := range subs {
		_, err := bs.Subscribe(event.All, func(_ context.Context, ev *event.Event) {
			sums[i] += ev.Seq
			counts[i]++
			if counts[i] == benchEvents {
				counts[i] = 0
				if pending.Add(-1) == 0 {
					done <- struct{}{}
				}
			}
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(sums)
		pending.Store(int64(subs))
		for n := range benchEvents {
			ev.Seq = uint64(n)
			if err := bs.Publish(ctx, &ev); err != nil {
				b.Fatal(err)
			}
		}
		<-done
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEvents, "ns/event")
	if err := bs.Close(ctx); err != nil {
		b.Fatal(err)
	}
	checkSums(b, sums)
}

func checkSums(b *testing.B, sums []uint64) {
	const want = uint64(benchEvents) * (benchEvents - 1) / 2
	for i, s := range sums {
		if s != want {
			b.Fatalf("subscriber %d: sum of Seq %d, want %d", i, s, want)
		}
	}
}

// BenchmarkLatency measures publish-to-receive latency with one event in
// flight: the publisher waits for the receiver's acknowledgement before it
// publishes the next event. p50-ns and p99-ns are the percentiles; the time
// is taken on the receiving side, before the acknowledgement.
func BenchmarkLatency(b *testing.B) {
	b.Run("impl=chan", func(b *testing.B) {
		ch := make(chan event.Event, bus.DefaultQueue)
		ack := make(chan struct{}, 1)
		lat := make([]time.Duration, 0, 1<<16)
		start := time.Now()
		go func() {
			for v := range ch {
				lat = append(lat, time.Since(start)-time.Duration(v.Seq))
				ack <- struct{}{}
			}
			close(ack)
		}()
		ev := benchEvent()
		for b.Loop() {
			ev.Seq = uint64(time.Since(start))
			ch <- ev
			<-ack
		}
		close(ch)
		<-ack
		reportLatency(b, lat)
	})
	b.Run("impl=bus", func(b *testing.B) {
		bs := mustNew(b)
		ctx := context.Background()
		ack := make(chan struct{}, 1)
		lat := make([]time.Duration, 0, 1<<16)
		start := time.Now()
		_, err := bs.Subscribe(event.All, func(_ context.Context, ev *event.Event) {
			lat = append(lat, time.Since(start)-time.Duration(ev.Seq))
			ack <- struct{}{}
		})
		if err != nil {
			b.Fatal(err)
		}
		ev := benchEvent()
		for b.Loop() {
			ev.Seq = uint64(time.Since(start))
			if err := bs.Publish(ctx, &ev); err != nil {
				b.Fatal(err)
			}
			<-ack
		}
		if err := bs.Close(ctx); err != nil {
			b.Fatal(err)
		}
		reportLatency(b, lat)
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// wireLines returns n events as JSON lines, the way a relay, a replay or a
// remote node receives them: half of them text deltas, the rest cycling
// through every registered type and a few unregistered application types.
// Decoding gives registered types the registry's own type string and
// unregistered ones a fresh copy per event.
func wireLines(b *testing.B, n int) [][]byte {
	var types []event.Type
	for _, d := range event.Types() {
		types = append(types, d.Type)
	}
	for i := range 8 {
		types = append(types, event.Type(fmt.Sprintf("acme.app.kind_%d", i)))
	}
	meta := `{"run":"run-1","session":"session-1","conversation":"conv-1","turn":"turn-1","message":"message-1","model":"gpt"}`
	lines := make([][]byte, n)
	for i := range lines {
		typ, payload := event.TypeTextDelta, fmt.Sprintf(`{"index":0,"offset":%d,"text":"Hello, world"}`, i*12)
		if i%2 == 1 {
			typ, payload = types[(i/2)%len(types)], `{}`
		}
		lines[i] = fmt.Appendf(nil, `{"id":"0190c8a2-7b3e-7def-8123-%012x","type":%q,"time":"2026-11-21T10:00:00.123456Z","meta":%s,"payload":%s}`,
			i, typ, meta, payload)
		var ev event.Event
		if err := event.Unmarshal(lines[i], &ev); err != nil {
			b.Fatalf("line %d: %v", i, err)
		}
	}
	return lines
}

// wirePatterns are the subscriptions of BenchmarkPublishDecoded: an
// everything-consumer (a UI stream or recorder), a transcript printer, tool
// hooks, usage accounting, and the application's own events.
var wirePatterns = []string{">", "message.>", "tool.call.*", "provider.call.completed", "acme.>"}

// BenchmarkPublishDecoded is the bus under a realistic load: events decoded
// from JSON lines, one event per Publish, many types (registered and not),
// and several subscriptions with patterns. The subscribers are synchronous
// (WithSync), which leaves the match the largest share of the work, or
// asynchronous (the default). decode=yes decodes each line just before publishing it, as a
// relay does; decode=no publishes events decoded beforehand (an unregistered
// type has its own copy of its name in each), to time the bus alone. One op
// is one event.
func BenchmarkPublishDecoded(b *testing.B) {
	lines := wireLines(b, 4096)
	decoded := make([]event.Event, len(lines))
	for i, l := range lines {
		if err := event.Unmarshal(l, &decoded[i]); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []string{"sync", "async"} {
		for _, decode := range []bool{true, false} {
			name := fmt.Sprintf("subs=%s/decode=%s", mode, map[bool]string{true: "yes", false: "no"}[decode])
			b.Run(name, func(b *testing.B) {
				bs := mustNew(b)
				ctx := context.Background()
				var n atomic.Int64
				for _, p := range wirePatterns {
					var opts []bus.SubscribeOption
					if mode == "sync" {
						opts = append(opts, bus.WithSync())
					}
					if _, err := bs.Subscribe(event.MustPattern(p), func(context.Context, *event.Event) { n.Add(1) }, opts...); err != nil {
						b.Fatal(err)
					}
				}
				var ev event.Event
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					e := &decoded[i%len(decoded)]
					if decode {
						if err := event.Unmarshal(lines[i%len(lines)], &ev); err != nil {
							b.Fatal(err)
						}
						e = &ev
					}
					if err := bs.Publish(ctx, e); err != nil {
						b.Fatal(err)
					}
					i++
				}
				if err := bs.Close(ctx); err != nil {
					b.Fatal(err)
				}
				if n.Load() == 0 {
					b.Fatal("nothing delivered")
				}
			})
		}
	}
}
