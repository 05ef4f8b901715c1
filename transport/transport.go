// Package transport bridges Sluice and message brokers through Watermill
// (github.com/ThreeDotsLabs/watermill), so that events cross machines on
// the transport a team already runs — NATS, Kafka, Redis Streams, AMQP, SQL
// tables, or Go channels in one process — and so that existing Watermill
// handlers receive Sluice events.
//
// A Sink publishes each event it is given to a Watermill Publisher;
// Consume reads a Subscriber's messages and hands each event to any
// sluice.Sink (a bus, a hub, a printer), acknowledging a message only once
// the sink has accepted its event. Encode and Decode convert one event to
// and from a message for code that uses Watermill directly, such as a
// router handler.
//
// The transport is chosen by constructing its Watermill publisher and
// subscriber; this package depends only on Watermill's interfaces, and it
// is a module of its own, so Sluice's core module pulls no broker client.
//
// # The message format
//
// A message's UUID is the event's ID, its payload the event's JSON in
// Sluice's own format (docs/wire.md), and its metadata repeats the type
// (sluice_type), the session (sluice_session) and, for a logged event,
// the sequence number (sluice_seq), so brokers and handlers can route on
// them without decoding the payload.
//
// # Order and delivery
//
// Consume handles one message at a time, in the order the subscriber
// delivers them: events of a topic (and so of a session) reach the sink in
// the order the transport keeps, which for a single partition, stream or
// table is the order of publishing. (Watermill's Go channel keeps it only
// with BlockPublishUntilSubscriberAck; without, it delivers each message
// from a goroutine of its own.) A message whose event the sink refuses
// is nacked, so the transport delivers it again: at-least-once. A message
// that is not a Sluice event at all can never succeed; it is acknowledged
// and reported to the error handler (WithErrorHandler), never dropped
// silently.
package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Metadata keys set on every message.
const (
	MetaType    = "sluice_type"
	MetaSession = "sluice_session"
	MetaSeq     = "sluice_seq"
)

// DefaultTopic is the topic a Sink publishes to without WithTopic.
const DefaultTopic = "sluice.events"

// Errors, for errors.Is.
var (
	// ErrInvalid reports an invalid argument: a nil publisher, subscriber
	// or sink, or an invalid option.
	ErrInvalid = errors.New("transport: invalid argument")
	// ErrClosed reports a Publish to a closed Sink.
	ErrClosed = errors.New("transport: sink closed")
	// ErrNotEvent reports a message whose payload is not a Sluice event.
	ErrNotEvent = errors.New("transport: message is not a Sluice event")
)

// Encode returns the message for ev (see "The message format"). The
// message carries ctx, for publishers that use it.
func Encode(ctx context.Context, ev *event.Event) (*message.Message, error) {
	if ev == nil {
		return nil, fmt.Errorf("transport: %w", sluice.ErrNilEvent)
	}
	payload, err := ev.AppendJSON(nil)
	if err != nil {
		return nil, fmt.Errorf("transport: encode %s: %w", ev.Type, err)
	}
	msg := message.NewMessageWithContext(ctx, ev.ID.String(), payload)
	msg.Metadata.Set(MetaType, string(ev.Type))
	msg.Metadata.Set(MetaSession, ev.Meta.SessionID)
	if ev.Seq != 0 {
		msg.Metadata.Set(MetaSeq, strconv.FormatUint(ev.Seq, 10))
	}
	return msg, nil
}

// Decode returns the event msg carries. A payload that is not an event
// gives an error wrapping ErrNotEvent.
func Decode(msg *message.Message) (event.Event, error) {
	var ev event.Event
	if err := event.Unmarshal(msg.Payload, &ev); err != nil {
		return event.Event{}, fmt.Errorf("%w: message %s: %w", ErrNotEvent, msg.UUID, err)
	}
	return ev, nil
}

// Option configures a Sink.
type Option func(*sinkConfig) error

type sinkConfig struct {
	topic func(*event.Event) string
}

// WithTopic publishes every event to topic (default DefaultTopic).
func WithTopic(topic string) Option {
	return func(c *sinkConfig) error {
		if topic == "" {
			return fmt.Errorf("%w: WithTopic(\"\")", ErrInvalid)
		}
		c.topic = func(*event.Event) string { return topic }
		return nil
	}
}

// WithTopicFunc picks each event's topic, for example by session or type.
// Events of one session should go to one topic, or their order across
// topics is the transport's.
func WithTopicFunc(fn func(ev *event.Event) string) Option {
	return func(c *sinkConfig) error {
		if fn == nil {
			return fmt.Errorf("%w: WithTopicFunc(nil)", ErrInvalid)
		}
		c.topic = fn
		return nil
	}
}

// Sink publishes events to a Watermill Publisher. It implements
// sluice.Sink and is safe for concurrent use as far as the publisher is.
type Sink struct {
	pub    message.Publisher
	topic  func(*event.Event) string
	closed atomic.Bool
}

// NewSink returns a Sink that publishes to pub. The caller keeps pub:
// Close does not close it.
func NewSink(pub message.Publisher, opts ...Option) (*Sink, error) {
	if pub == nil {
		return nil, fmt.Errorf("%w: nil publisher", ErrInvalid)
	}
	cfg := sinkConfig{topic: func(*event.Event) string { return DefaultTopic }}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &Sink{pub: pub, topic: cfg.topic}, nil
}

// Enabled implements sluice.Sink: an open Sink takes every type.
func (s *Sink) Enabled(context.Context, event.Type) bool { return !s.closed.Load() }

// Publish implements sluice.Sink: it publishes ev's message and returns
// the publisher's error. ev is not kept or changed.
func (s *Sink) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return fmt.Errorf("transport: %w", sluice.ErrNilEvent)
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	msg, err := Encode(ctx, ev)
	if err != nil {
		return err
	}
	if err := s.pub.Publish(s.topic(ev), msg); err != nil {
		return fmt.Errorf("transport: publish %s: %w", ev.Type, err)
	}
	return nil
}

// Close makes later Publish calls fail with ErrClosed. The publisher stays
// open.
func (s *Sink) Close() error {
	s.closed.Store(true)
	return nil
}

// ConsumeOption configures Consume.
type ConsumeOption func(*consumeConfig) error

type consumeConfig struct {
	onError func(msg *message.Message, err error)
}

// WithErrorHandler sets what Consume does with a message it cannot deliver:
// fn gets the message and the error (wrapping ErrNotEvent for a message
// that is no event, which is then acknowledged; otherwise the sink's
// error, and the message is nacked for redelivery). The default logs with
// slog.
func WithErrorHandler(fn func(msg *message.Message, err error)) ConsumeOption {
	return func(c *consumeConfig) error {
		if fn == nil {
			return fmt.Errorf("%w: WithErrorHandler(nil)", ErrInvalid)
		}
		c.onError = fn
		return nil
	}
}

// Consume subscribes to topic on sub and publishes each message's event to
// sink, one at a time in the order of delivery, acknowledging a message
// once the sink accepted its event and nacking it when the sink refused
// it. It returns nil when ctx ends or the subscription closes, or an
// error if subscribing fails.
func Consume(ctx context.Context, sub message.Subscriber, topic string, sink sluice.Sink, opts ...ConsumeOption) error {
	if sub == nil || sink == nil {
		return fmt.Errorf("%w: nil subscriber or sink", ErrInvalid)
	}
	cfg := consumeConfig{onError: func(msg *message.Message, err error) {
		slog.Error("transport: message not delivered", "uuid", msg.UUID, "err", err)
	}}
	for _, o := range opts {
		if o == nil {
			return fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(&cfg); err != nil {
			return err
		}
	}
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		return fmt.Errorf("transport: subscribe to %q: %w", topic, err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-msgs:
			if !ok {
				return nil
			}
			ev, err := Decode(msg)
			if err != nil {
				cfg.onError(msg, err)
				msg.Ack()
				continue
			}
			if !sink.Enabled(ctx, ev.Type) {
				msg.Ack()
				continue
			}
			if err := sink.Publish(ctx, &ev); err != nil {
				cfg.onError(msg, err)
				msg.Nack()
				continue
			}
			msg.Ack()
		}
	}
}
