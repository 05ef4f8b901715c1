package transport_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	wmredis "github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/sinktest"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitSubscribed publishes probe events (session "probe") to topic until
// seen reports one arrived: Consume has subscribed, and what is published
// from now on is delivered in order. (Watermill's Go channel drops
// messages that nobody subscribes to.)
func waitSubscribed(t *testing.T, pub message.Publisher, topic string, seen func() bool) {
	t.Helper()
	sink, _ := transport.NewSink(pub, transport.WithTopic(topic))
	deadline := time.Now().Add(10 * time.Second)
	for !seen() {
		if time.Now().After(deadline) {
			t.Fatal("the consumer did not subscribe")
		}
		ev := event.New(event.Info{Message: "probe"}, event.Meta{SessionID: "probe"})
		if err := sink.Publish(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

// withoutProbes drops the probe events of waitSubscribed.
func withoutProbes(evs []event.Event) []event.Event {
	out := evs[:0:0]
	for _, ev := range evs {
		if ev.Meta.SessionID != "probe" {
			out = append(out, ev)
		}
	}
	return out
}

func probed(rec *sinktest.Recorder) func() bool {
	return func() bool { return len(rec.Events()) > len(withoutProbes(rec.Events())) }
}

// pubSub is one Watermill transport under test.
type pubSub struct {
	pub message.Publisher
	sub message.Subscriber
}

// transports returns the transports to test over, each made for topic:
// Go channels always, Redis Streams and PostgreSQL (the SQL pub/sub) when
// their addresses are set.
func transports(t *testing.T, topic string) map[string]func(t *testing.T) pubSub {
	return map[string]func(t *testing.T) pubSub{
		"gochannel": func(t *testing.T) pubSub {
			ch := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, nil)
			t.Cleanup(func() { ch.Close() })
			return pubSub{ch, ch}
		},
		"redis": func(t *testing.T) pubSub {
			addr := os.Getenv("SLUICE_TEST_REDIS")
			if addr == "" {
				t.Skip("SLUICE_TEST_REDIS is not set (redis://127.0.0.1:6379)")
			}
			opts, err := redis.ParseURL(addr)
			if err != nil {
				t.Fatal(err)
			}
			client := redis.NewClient(opts)
			t.Cleanup(func() {
				client.Del(context.Background(), topic)
				client.Close()
			})
			pub, err := wmredis.NewPublisher(wmredis.PublisherConfig{Client: client}, nil)
			if err != nil {
				t.Fatal(err)
			}
			sub, err := wmredis.NewSubscriber(wmredis.SubscriberConfig{
				Client: client, ConsumerGroup: "sluice-test", OldestId: "0",
				BlockTime: 50 * time.Millisecond, DisableIndefiniteInitialBlock: true,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sub.Close(); pub.Close() })
			return pubSub{pub, sub}
		},
		"postgres": func(t *testing.T) pubSub {
			dsn := os.Getenv("SLUICE_TEST_POSTGRES")
			if dsn == "" {
				t.Skip("SLUICE_TEST_POSTGRES is not set")
			}
			pool, err := pgxpool.New(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			db := wmsql.BeginnerFromPgx(pool)
			schema := &wmsql.DefaultPostgreSQLSchema{GeneratePayloadType: func(string) string { return "BYTEA" }}
			offsets := wmsql.DefaultPostgreSQLOffsetsAdapter{}
			pub, err := wmsql.NewPublisher(db, wmsql.PublisherConfig{SchemaAdapter: schema, AutoInitializeSchema: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			sub, err := wmsql.NewSubscriber(db, wmsql.SubscriberConfig{
				ConsumerGroup: "sluice-test", SchemaAdapter: schema, OffsetsAdapter: offsets, InitializeSchema: true,
				PollInterval: 5 * time.Millisecond, ResendInterval: 5 * time.Millisecond,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				sub.Close()
				pub.Close()
				pool.Exec(context.Background(), fmt.Sprintf(`DROP TABLE IF EXISTS "watermill_%s", "watermill_offsets_%s"`, topic, topic))
				pool.Close()
			})
			return pubSub{pub, sub}
		},
	}
}

// TestOrderAndCounts: producers of three sessions publish through a Sink;
// Consume feeds a hub on the other side; every event arrives exactly once,
// each session's in the order it was published, over every transport.
func TestOrderAndCounts(t *testing.T) {
	topic := fmt.Sprintf("sluice_test_%d", time.Now().UnixNano())
	for name, open := range transports(t, topic) {
		t.Run(name, func(t *testing.T) {
			ps := open(t)
			sink, err := transport.NewSink(ps.pub, transport.WithTopic(topic))
			if err != nil {
				t.Fatal(err)
			}
			st, _ := memory.New()
			h, err := hub.New(st)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			consumed := make(chan error, 1)
			go func() { consumed <- transport.Consume(ctx, ps.sub, topic, h) }()
			waitSubscribed(t, ps.pub, topic, func() bool {
				_, err := st.Session(ctx, "probe")
				return err == nil
			})

			const sessions, each = 3, 150
			var wg sync.WaitGroup
			for s := range sessions {
				wg.Go(func() {
					em := sluice.NewEmitter(sink, event.Meta{SessionID: fmt.Sprint("s", s), RunID: "run"})
					for i := range each {
						if err := em.TextDelta(ctx, 0, int64(i), fmt.Sprint(i)); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			for s := range sessions {
				feed, err := h.Subscribe(hub.Selector{Session: fmt.Sprint("s", s)}, 0)
				if err != nil {
					t.Fatal(err)
				}
				for i := range each {
					it, err := feed.Next(ctx)
					if err != nil {
						t.Fatalf("session s%d: event %d: %v", s, i, err)
					}
					d, _ := event.As[event.TextDelta](it.Event)
					if d.Text != fmt.Sprint(i) {
						t.Fatalf("session s%d: event %d is %q: out of order", s, i, d.Text)
					}
				}
				feed.Close()
			}
			infos, err := st.Sessions(ctx, store.SessionQuery{})
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, si := range infos {
				if si.ID != "probe" {
					total += int(si.Count)
				}
			}
			if total != sessions*each {
				t.Errorf("%d events stored, want %d (no duplicates)", total, sessions*each)
			}
			cancel()
			if err := <-consumed; err != nil {
				t.Errorf("Consume = %v", err)
			}
		})
	}
}

// TestConsumeNacksRefusedEvents: an event the sink refuses is nacked and
// delivered again, and the events after it wait for it.
func TestConsumeNacksRefusedEvents(t *testing.T) {
	ch := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, nil)
	defer ch.Close()
	sink, _ := transport.NewSink(ch)
	var mu sync.Mutex
	var got []string
	refused, probes := 0, 0
	dst := sluice.SinkFunc(func(ctx context.Context, ev *event.Event) error {
		d, _ := event.As[event.TextDelta](*ev)
		mu.Lock()
		defer mu.Unlock()
		if ev.Meta.SessionID == "probe" {
			probes++
			return nil
		}
		if d.Text == "2" && refused < 3 {
			refused++
			return errors.New("not now")
		}
		got = append(got, d.Text)
		return nil
	})
	var errs []error
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		transport.Consume(ctx, ch, transport.DefaultTopic, dst, transport.WithErrorHandler(func(_ *message.Message, err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}))
	}()
	waitSubscribed(t, ch, transport.DefaultTopic, func() bool { mu.Lock(); defer mu.Unlock(); return probes > 0 })
	em := sluice.NewEmitter(sink, event.Meta{SessionID: "s"})
	for i := range 5 {
		if err := em.TextDelta(ctx, 0, int64(i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if strings.Join(got, ",") != "0,1,2,3,4" || refused != 3 || len(errs) != 3 {
		t.Errorf("delivered %v after %d refusals (%d reported), want 0..4 in order after 3", got, refused, len(errs))
	}
}

// TestConsumeReportsForeignMessages: a message that is not a Sluice event
// is acknowledged and reported, and the events after it go on.
func TestConsumeReportsForeignMessages(t *testing.T) {
	ch := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, nil)
	defer ch.Close()
	rec := new(sinktest.Recorder)
	ctx, cancel := context.WithCancel(context.Background())
	reported := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		transport.Consume(ctx, ch, "t", rec, transport.WithErrorHandler(func(_ *message.Message, err error) { reported <- err }))
	}()
	waitSubscribed(t, ch, "t", probed(rec))
	ch.Publish("t", message.NewMessage("m1", []byte(`{"not":"an event"}`)))
	ev := event.New(event.Info{Message: "after"}, event.Meta{SessionID: "s"})
	msg, err := transport.Encode(ctx, &ev)
	if err != nil {
		t.Fatal(err)
	}
	if msg.UUID != ev.ID.String() || msg.Metadata.Get(transport.MetaType) != "agent.info" || msg.Metadata.Get(transport.MetaSession) != "s" {
		t.Errorf("message %s %v", msg.UUID, msg.Metadata)
	}
	ch.Publish("t", msg)
	select {
	case err := <-reported:
		if !errors.Is(err, transport.ErrNotEvent) {
			t.Errorf("reported %v, want ErrNotEvent", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the foreign message was not reported")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(withoutProbes(rec.Events())) == 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if evs := withoutProbes(rec.Events()); len(evs) != 1 || evs[0].ID != ev.ID {
		t.Errorf("delivered %v, want the event after the foreign message", evs)
	}
	cancel()
	<-done
}

// TestConformance runs the Sink conformance suite on a Sink: what it
// delivers is what Consume reads back on the other side of the channel.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		ch := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, nil)
		sink, err := transport.NewSink(ch)
		if err != nil {
			t.Fatal(err)
		}
		rec := new(sinktest.Recorder)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			transport.Consume(ctx, ch, transport.DefaultTopic, rec)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
			ch.Close()
		})
		waitSubscribed(t, ch, transport.DefaultTopic, probed(rec))
		return sinktest.Harness{
			Sink: sink, Delivered: func() []event.Event { return withoutProbes(rec.Events()) }, ErrClosed: transport.ErrClosed,
			Close: func(context.Context) error { return sink.Close() },
		}
	})
}

func TestInvalidArguments(t *testing.T) {
	ch := gochannel.NewGoChannel(gochannel.Config{}, nil)
	defer ch.Close()
	for name, err := range map[string]error{
		"nil publisher": func() error { _, err := transport.NewSink(nil); return err }(),
		"empty topic":   func() error { _, err := transport.NewSink(ch, transport.WithTopic("")); return err }(),
		"nil topic fn":  func() error { _, err := transport.NewSink(ch, transport.WithTopicFunc(nil)); return err }(),
		"nil option":    func() error { _, err := transport.NewSink(ch, nil); return err }(),
		"nil sink":      transport.Consume(context.Background(), ch, "t", nil),
		"nil handler":   transport.Consume(context.Background(), ch, "t", sluice.Discard, transport.WithErrorHandler(nil)),
	} {
		if !errors.Is(err, transport.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
