package jetstream

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-events/sluice/store"
)

var _ store.Watcher = (*Store)(nil)

// Watch implements store.Watcher with an ordered JetStream consumer on the
// events (headers only, new messages only): JetStream delivers a message
// once its publish or batch is committed, so fn never runs before the
// events can be read. The consumer follows the stream across reconnections; fn is
// called once at the start and after each reconnection.
func (s *Store) Watch(ctx context.Context, fn func()) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.evSubj + "*"},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		HeadersOnly:    true,
	})
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("jetstream: watch: %w", s.closedOr(err))
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { fn() },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			s.cfg.Logger.Debug("jetstream: watch", "err", err)
		}))
	if err != nil {
		return fmt.Errorf("jetstream: watch: %w", s.closedOr(err))
	}
	defer cc.Stop()
	fn()
	reconnected := make(chan struct{}, 1)
	s.watchMu.Lock()
	s.watchers = append(s.watchers, reconnected)
	s.watchMu.Unlock()
	defer s.unwatch(reconnected)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-cc.Closed():
			return fmt.Errorf("jetstream: watch: %w", s.closedOr(fmt.Errorf("consumer closed")))
		case <-reconnected:
			fn()
		}
	}
}

func (s *Store) unwatch(ch chan struct{}) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for i, c := range s.watchers {
		if c == ch {
			s.watchers = append(s.watchers[:i], s.watchers[i+1:]...)
			return
		}
	}
}

// reconnected tells every watcher that the connection came back.
func (s *Store) reconnected() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for _, c := range s.watchers {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}
