package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-events/sluice/store"
)

var _ store.Watcher = (*Store)(nil)

// channel is the LISTEN/NOTIFY channel of the store's schema: every append
// transaction notifies it just before COMMIT, and PostgreSQL delivers the
// notification only if and when the transaction commits.
func (s *Store) channel() string { return fmt.Sprintf("sluice_%x", uint64(s.lockKey)) }

// Watch implements store.Watcher with LISTEN/NOTIFY: every append
// transaction (of any process sharing the schema) calls pg_notify before
// its COMMIT, and Watch listens on a connection of its own, outside the
// pool. When that connection breaks it connects again (after a pause
// that grows to 5s, logging the failure) and calls fn, since
// notifications sent meanwhile are lost. It returns when ctx ends or the
// store is closed (store.ErrClosed).
func (s *Store) Watch(ctx context.Context, fn func()) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.base, cancel) // Close ends the watch
	defer stop()
	pause := 100 * time.Millisecond
	for {
		err := s.listen(ctx, fn)
		if s.closed.Load() {
			return store.ErrClosed
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.cfg.Logger.Warn("postgres: listening for appends; connecting again", "err", err, "in", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			if s.closed.Load() {
				return store.ErrClosed
			}
			return ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// listen connects, LISTENs, calls fn once, then once per notification
// until the connection fails or ctx ends.
func (s *Store) listen(ctx context.Context, fn func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel()}.Sanitize()); err != nil {
		return err
	}
	fn()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		fn()
	}
}
