package bus_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unsafe"
	"weak"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
)

// TestMatchCacheKeepsNoCallerMemory publishes events whose types are pieces
// of big buffers, as a decoder that slices its input would make them, and
// checks that the bus's match cache does not keep the buffers alive, also
// for a type string seen several times at the same address.
func TestMatchCacheKeepsNoCallerMemory(t *testing.T) {
	b := newBus(t)
	var got []string
	subscribe(t, b, "big.>", func(_ context.Context, e *event.Event) { got = append(got, strings.Clone(string(e.Type))) }, bus.WithSync())

	const size = 1 << 20
	var ptrs []weak.Pointer[byte]
	for i := range 8 {
		buf := fmt.Sprintf("big.t%d", i) + strings.Repeat("x", size)
		typ := event.Type(buf[:len("big.t0")])
		unmatched := event.Type("other" + buf[3:len("big.t0")]) // a fresh string: kept by nobody
		ptrs = append(ptrs, weak.Make(unsafe.StringData(buf)))
		for range 3 { // the same string again, as a constant would be
			e := event.New(custom{T: typ})
			publish(t, b, e)
			e = event.New(custom{T: unmatched})
			publish(t, b, e)
		}
		runtime.KeepAlive(buf)
	}
	runtime.GC()
	runtime.GC()
	for i, p := range ptrs {
		if p.Value() != nil {
			t.Errorf("buffer %d is still alive: the bus keeps the type string it was given", i)
		}
	}
	if len(got) != 24 {
		t.Errorf("delivered %d events, want 24", len(got))
	}
	// The cached answers still hold for fresh copies of the same types.
	for i := range 8 {
		typ := event.Type(strings.Clone(fmt.Sprintf("big.t%d", i)))
		if !b.Enabled(context.Background(), typ) {
			t.Errorf("Enabled(%s) = false", typ)
		}
	}
}

// TestMatchCacheChecksContents reuses one buffer for different type names
// of the same length, as the allocator may reuse a freed type string's
// memory: the match cache answers by content, never by address.
func TestMatchCacheChecksContents(t *testing.T) {
	b := newBus(t)
	var got []string
	subscribe(t, b, "a.>", func(_ context.Context, e *event.Event) { got = append(got, strings.Clone(string(e.Type))) }, bus.WithSync())
	buf := []byte("a.b.c")
	typ := event.Type(unsafe.String(&buf[0], len(buf)))
	for range 3 {
		publish(t, b, event.New(custom{T: typ}))
	}
	copy(buf, "b.b.c") // the same address and length, another type
	if b.Enabled(context.Background(), typ) {
		t.Error(`Enabled("b.b.c") = true after "a.b.c" was cached at the same address`)
	}
	publish(t, b, event.New(custom{T: typ}))
	copy(buf, "a.b.d")
	publish(t, b, event.New(custom{T: typ}))
	if got, want := strings.Join(got, " "), "a.b.c a.b.c a.b.c a.b.d"; got != want {
		t.Errorf("received %q, want %q", got, want)
	}
}

// TestMatchCacheManyTypes checks the answers for many more distinct types
// than the cache holds, each published from fresh strings (as decoded
// events are) and from one string (as constants are), and for type names
// too long to cache.
func TestMatchCacheManyTypes(t *testing.T) {
	b := newBus(t)
	var rec recorder
	subscribe(t, b, "a.*", rec.handle, bus.WithSync())
	ctx := context.Background()
	const n = 3000
	want := 0
	for i := range n {
		prefix := "a."
		if i%3 == 0 {
			prefix = "b."
		}
		name := prefix + fmt.Sprint(i)
		if i%500 == 0 {
			name = prefix + strings.Repeat("y", 1000) + fmt.Sprint(i)
		}
		constant := event.Type(name)
		for j := range 4 {
			typ := constant
			if j%2 == 0 {
				typ = event.Type(strings.Clone(name))
			}
			if got := b.Enabled(ctx, typ); got != (prefix == "a.") {
				t.Fatalf("Enabled(%.20s) = %v", typ, got)
			}
			publish(t, b, event.New(custom{T: typ}))
			if prefix == "a." {
				want++
			}
		}
	}
	if got := len(rec.events()); got != want {
		t.Errorf("delivered %d events, want %d", got, want)
	}
}

// TestMatchCacheConcurrent looks up new and known types from several
// goroutines at once, for the race detector.
func TestMatchCacheConcurrent(t *testing.T) {
	b := newBus(t)
	subscribe(t, b, "a.>", func(context.Context, *event.Event) {}, bus.WithSync())
	ctx := context.Background()
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 2000 {
				typ := event.Type(fmt.Sprintf("a.%d", (i*7+g)%1500))
				if !b.Enabled(ctx, typ) {
					t.Errorf("Enabled(%s) = false", typ)
					return
				}
				if b.Enabled(ctx, event.Type(fmt.Sprintf("c.%d", i))) {
					t.Errorf("Enabled(c.%d) = true", i)
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

// TestEnabledAllocs checks that a known type, constant or not, is answered
// without allocating.
func TestEnabledAllocs(t *testing.T) {
	b := newBus(t)
	subscribe(t, b, "message.>", func(context.Context, *event.Event) {})
	ctx := context.Background()
	decoded := event.Type(strings.Clone(string(event.TypeTextDelta)))
	b.Enabled(ctx, event.TypeTextDelta)
	b.Enabled(ctx, decoded)
	for _, typ := range []event.Type{event.TypeTextDelta, decoded} {
		if n := testing.AllocsPerRun(100, func() {
			if !b.Enabled(ctx, typ) {
				t.Fatal("not enabled")
			}
		}); n != 0 {
			t.Errorf("Enabled allocates %v times per call", n)
		}
	}
}
