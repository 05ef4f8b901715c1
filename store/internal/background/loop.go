// Package background runs a store's periodic retention.
package background

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Loop calls fn every interval until Stop. It is the retention loop of the
// store implementations.
type Loop struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start runs fn every interval in a new goroutine; errors are logged.
func Start(interval time.Duration, log *slog.Logger, name string, fn func(context.Context) (int64, error)) *Loop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{cancel: cancel}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n, err := fn(ctx)
				switch {
				case err != nil && ctx.Err() == nil:
					log.Error("store retention failed", "store", name, "err", err)
				case n > 0:
					log.Debug("store retention removed events", "store", name, "events", n)
				}
			}
		}
	}()
	return l
}

// Stop ends the loop and waits for a running pass to finish. It is safe to
// call on a nil Loop and more than once.
func (l *Loop) Stop() {
	if l == nil {
		return
	}
	l.cancel()
	l.wg.Wait()
}
