package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/natstest"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/jetstream"
	"github.com/sluice-events/sluice/store/storetest"
)

const natsEnv = "SLUICE_TEST_NATS"

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// freshStream returns a stream name no other test uses.
func freshStream() string { return fmt.Sprintf("TEST_%d_%x", os.Getpid(), rand.Uint64()) }

func open(tb testing.TB, url string, opts ...jetstream.Option) *jetstream.Store {
	tb.Helper()
	s, err := jetstream.Open(context.Background(), url, opts...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func conformance(t *testing.T, url string) {
	storetest.Run(t, func(t *testing.T, c store.Config) store.Store {
		s, err := jetstream.Open(context.Background(), url, jetstream.WithStream(freshStream()),
			jetstream.WithMaxBatch(natstest.MaxBatch), jetstream.WithRetention(c.Retention), jetstream.WithClock(c.Clock), jetstream.WithLogger(c.Logger))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.WithReopen(func(t *testing.T, closed store.Store) store.Store {
		return open(t, url, jetstream.WithStream(closed.(*jetstream.Store).Stream()))
	}))
}

func TestConformance(t *testing.T) {
	conformance(t, natstest.Start(t).ClientURL())
}

// TestConformanceServer runs the suite against the machine's NATS server.
func TestConformanceServer(t *testing.T) {
	url := os.Getenv(natsEnv)
	if url == "" {
		t.Skip("set " + natsEnv + " (e.g. nats://127.0.0.1:4222) to run the suite against a NATS server")
	}
	s, err := jetstream.Open(context.Background(), url, jetstream.WithStream(freshStream()))
	if errors.Is(err, jetstream.ErrUnsupported) {
		t.Skipf("the server at %s cannot hold the log: %v", url, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	conformance(t, url)
}

func textEvent(sess string, i int) event.Event {
	return event.New(event.TextDelta{Text: fmt.Sprint(i)}, event.Meta{SessionID: sess})
}

// TestUnreachable: a server that is down at start is an error naming the
// URL.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + l.Addr().String()
	l.Close()
	_, err = jetstream.Open(context.Background(), url)
	if err == nil || !strings.Contains(err.Error(), url) {
		t.Fatalf("Open of a closed port: %v, want an error naming %s", err, url)
	}
}

// TestServerAway: while the server is away appends fail with an error;
// when it is back (same port, same data) they succeed again and the
// sequence goes on.
func TestServerAway(t *testing.T) {
	dir := t.TempDir()
	srv := natstest.StartAt(t, -1, dir)
	port := srv.Addr().(*net.TCPAddr).Port
	st := open(t, srv.ClientURL(), jetstream.WithTimeout(time.Second))
	ctx := context.Background()
	if err := st.Append(ctx, []event.Event{textEvent("s", 1)}); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := st.Append(actx, []event.Event{textEvent("s", 2)})
	cancel()
	if err == nil {
		t.Fatal("Append with the server away returned nil")
	}
	natstest.StartAt(t, port, dir)
	evs := []event.Event{textEvent("s", 3)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err = st.Append(ctx, evs)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Append after the server came back: %v", err)
	}
	if evs[0].Seq != 2 {
		t.Fatalf("seq after the outage %d, want 2 (the failed append stored nothing)", evs[0].Seq)
	}
}

// TestSeveralConnections: writers on separate stores (connections) share
// one session without gaps or duplicates.
func TestSeveralConnections(t *testing.T) {
	url := natstest.Start(t).ClientURL()
	name := freshStream()
	a := open(t, url, jetstream.WithStream(name))
	b := open(t, url, jetstream.WithStream(name))
	if a.Epoch() != b.Epoch() {
		t.Fatalf("epochs differ: %d, %d", a.Epoch(), b.Epoch())
	}
	ctx := context.Background()
	errc := make(chan error, 2)
	const n = 50
	for _, st := range []*jetstream.Store{a, b} {
		go func() {
			for i := range n {
				if err := st.Append(ctx, []event.Event{textEvent("shared", i), textEvent("other", i)}); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	var want uint64 = 1
	for ev, err := range b.Read(ctx, store.Query{Session: "shared"}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq != want {
			t.Fatalf("seq %d, want %d", ev.Seq, want)
		}
		want++
	}
	if want != 2*n+1 {
		t.Fatalf("read %d events, want %d", want-1, 2*n)
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []jetstream.Option{nil, jetstream.WithStream("a.b"), jetstream.WithStream(""), jetstream.WithReplicas(0),
		jetstream.WithTimeout(0), jetstream.WithClock(nil), jetstream.WithRetention(store.Retention{MaxAge: -1})} {
		if _, err := jetstream.Open(context.Background(), "nats://127.0.0.1:1", o); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Open with a bad option: %v, want ErrInvalid", err)
		}
	}
}

// TestTooLarge: a call beyond one atomic batch is refused whole.
func TestTooLarge(t *testing.T) {
	st := open(t, natstest.Start(t).ClientURL())
	evs := make([]event.Event, jetstream.DefaultMaxBatch+1)
	for i := range evs {
		evs[i] = textEvent(fmt.Sprint("big", i%3), i)
	}
	if err := st.Append(context.Background(), evs); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Append of %d events: %v, want ErrInvalid", len(evs), err)
	}
	if err := st.Append(context.Background(), evs[:jetstream.DefaultMaxBatch]); err != nil {
		t.Fatalf("Append of %d events: %v", jetstream.DefaultMaxBatch, err)
	}
}

// TestSessionsByActivityFullPages: a session that gets an event while a
// page is listed drops out of it (it moved to the front) and the next one
// takes its place, so a page shorter than the limit still means there are
// no more sessions: with 40 sessions, 10 of them busy, every first page of
// 10 is full.
func TestSessionsByActivityFullPages(t *testing.T) {
	s := open(t, natstest.Start(t).ClientURL(), jetstream.WithStream(freshStream()))
	ctx := context.Background()
	for i := range 40 {
		if err := s.Append(ctx, []event.Event{event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: fmt.Sprintf("s%02d", i)})}); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := s.Append(ctx, []event.Event{event.New(event.TextDelta{Text: "y"}, event.Meta{SessionID: fmt.Sprintf("s%02d", 30+i%10)})}); err != nil {
				done <- err
				return
			}
		}
	}()
	for i := range 30 {
		page, err := s.Sessions(ctx, store.SessionQuery{Order: store.ByActivity, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 10 {
			close(stop)
			<-done
			t.Fatalf("page %d holds %d sessions, want 10", i, len(page))
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
