// Package natstest starts embedded NATS servers with JetStream for tests,
// so that tests of the JetStream log run everywhere without a NATS
// installation.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// MaxBatch is the servers' limit on an atomic batch (max_batch_size),
// raised from the default 1,000 so that tests may append larger calls
// (with the store's WithMaxBatch).
const MaxBatch = 10000

// Start starts a NATS server with JetStream on a random loopback port,
// keeping its data in a temporary directory, and shuts it down when the
// test ends. It returns the server; its ClientURL is the URL to connect to.
func Start(tb testing.TB) *server.Server {
	tb.Helper()
	return StartAt(tb, -1, tb.TempDir())
}

// StartAt starts a server like Start on the given port (-1 for a random
// one) keeping its data in dir: a server restarted on the port and the
// directory of one that was shut down has the same streams.
func StartAt(tb testing.TB, port int, dir string) *server.Server {
	tb.Helper()
	s, err := server.NewServer(&server.Options{
		Host:            "127.0.0.1",
		Port:            port,
		JetStream:       true,
		StoreDir:        dir,
		NoLog:           true,
		NoSigs:          true,
		JetStreamLimits: server.JSLimitOpts{MaxBatchSize: MaxBatch},
	})
	if err != nil {
		tb.Fatalf("natstest: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		tb.Fatal("natstest: server not ready after 10s")
	}
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}
