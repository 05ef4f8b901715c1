package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"

	"github.com/spf13/pflag"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/postgres"
)

// sessionLog is what the session commands (sessions, replay) need of a log:
// a store.Store opened locally, or a server reached over HTTP (remoteLog).
type sessionLog interface {
	Sessions(ctx context.Context, q store.SessionQuery) ([]store.SessionInfo, error)
	Session(ctx context.Context, id string) (store.SessionInfo, error)
	Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error]
	Append(ctx context.Context, events []event.Event) error
	Delete(ctx context.Context, id string) error
	Close() error
}

// logFlags are the flags that choose the log a command works on: a SQLite
// file (--db), a PostgreSQL database (--postgres) or a server (--server,
// with --key or $SLUICE_KEY).
type logFlags struct {
	db, postgres, server, key string
}

// register adds the flags to fs.
func (f *logFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.db, "db", "", "SQLite database file")
	fs.StringVar(&f.postgres, "postgres", "", "PostgreSQL DSN (postgres://user@host/db)")
	fs.StringVar(&f.server, "server", "", "a Sluice server's URL (http://127.0.0.1:7420)")
	fs.StringVar(&f.key, "key", "", "API key for --server (default: $SLUICE_KEY)")
}

// where names the log for hints, as the flag that chose it.
func (f *logFlags) where() string {
	switch {
	case f.server != "":
		return "--server " + f.server
	case f.postgres != "":
		return "--postgres DSN"
	}
	return "--db " + f.db
}

// open opens the chosen log. With existing, a SQLite file must exist
// already (a reading command should not create an empty database because
// of a typo).
func (f *logFlags) open(ctx context.Context, existing bool) (sessionLog, error) {
	n := 0
	for _, v := range []string{f.db, f.postgres, f.server} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, errors.New("say where the events are: --db FILE, --postgres DSN or --server URL")
	case n > 1:
		return nil, errors.New("give only one of --db, --postgres and --server")
	case f.server != "":
		key := f.key
		if key == "" {
			key = os.Getenv("SLUICE_KEY")
		}
		return newRemoteLog(f.server, key)
	case f.postgres != "":
		st, err := postgres.Open(ctx, f.postgres)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		return st, nil
	}
	return openDB(ctx, f.db, existing)
}
