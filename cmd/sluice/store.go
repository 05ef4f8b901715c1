package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/printer"
	"github.com/sluice-events/sluice/replay"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
)

// openDB opens the SQLite store at path for the CLI's commands; with
// existing, the file must exist already (a reading command should not create
// an empty database because of a typo).
func openDB(ctx context.Context, path string, existing bool) (*sqlite.Store, error) {
	if path == "" {
		return nil, fmt.Errorf("--db FILE is required")
	}
	if existing {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return st, nil
}

// newPrinter returns the printer for a --format flag.
func newPrinter(w io.Writer, format string, opts ...printer.Option) (sluice.Sink, func() error, error) {
	noFlush := func() error { return nil }
	switch format {
	case "text":
		p, err := printer.Text(w, opts...)
		if err != nil {
			return nil, nil, err
		}
		return p, p.Flush, nil
	case "json":
		p, err := printer.JSON(w, opts...)
		return p, noFlush, err
	case "yaml":
		p, err := printer.YAML(w, opts...)
		return p, noFlush, err
	}
	return nil, nil, fmt.Errorf("--format must be text, json or yaml, got %q", format)
}

// latestSession is the --session value that picks the session with the
// most recent event.
const latestSession = "latest"

// pickSession returns the session to replay: id if it exists, or with id
// empty or "latest" (and no session of that name), the session whose last
// event is the most recent.
func pickSession(ctx context.Context, lg sessionLog, id string) (store.SessionInfo, error) {
	if id != "" {
		si, err := lg.Session(ctx, id)
		if err == nil || id != latestSession || !errors.Is(err, store.ErrNotFound) {
			return si, err
		}
	}
	infos, err := lg.Sessions(ctx, store.SessionQuery{})
	if err != nil {
		return store.SessionInfo{}, err
	}
	var latest store.SessionInfo
	for _, si := range infos {
		if latest.ID == "" || si.Last.After(latest.Last) {
			latest = si
		}
	}
	if latest.ID == "" {
		return latest, fmt.Errorf("there is no session to replay: %w", store.ErrNotFound)
	}
	return latest, nil
}

func newReplayCmd() *cobra.Command {
	var (
		where                  logFlags
		session, format, types string
		speed                  float64
		after                  uint64
		meta                   bool
		color                  colorFlags
	)
	cmd := &cobra.Command{
		Use:   "replay (--db FILE | --postgres DSN | --server URL) [--session ID]",
		Short: "Print a stored session, paced like the original run",
		Long: "replay reads a session from a database or a server and prints its events, keeping the\n" +
			"original pauses between them divided by --speed (--speed 0: no pauses). Without --session\n" +
			"(or with --session latest) it replays the session with the most recent event, and says\n" +
			"which on standard error.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var pattern event.Pattern
			if types != "" {
				p, err := event.ParsePattern(types)
				if err != nil {
					return fmt.Errorf("--types: %w", err)
				}
				pattern = p
			}
			if format != "text" && !cmd.Flags().Changed("meta") {
				meta = true
			}
			out := cmd.OutOrStdout()
			sink, flush, err := newPrinter(out, format, printer.WithMeta(meta), printer.WithColor(color.enabled(out)))
			if err != nil {
				return err
			}
			lg, err := where.open(ctx, true)
			if err != nil {
				return err
			}
			defer lg.Close()
			si, err := pickSession(ctx, lg, session)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					err = fmt.Errorf("%w (list the sessions with: sluice sessions %s)", err, where.where())
				}
				return err
			}
			if session == "" || si.ID != session {
				fmt.Fprintf(cmd.ErrOrStderr(), "sluice replay: session %s (%d events, the latest)\n", cell(si.ID), si.Count)
			}
			events := lg.Read(ctx, store.Query{Session: si.ID, After: after, Types: pattern})
			err = replay.Run(ctx, events, sink, replay.WithSpeed(speed), replay.WithMaxGap(5*time.Second))
			if ferr := flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	where.register(cmd.Flags())
	cmd.Flags().StringVar(&session, "session", "", `the session to replay (default: the latest; also "latest")`)
	cmd.Flags().Float64Var(&speed, "speed", 1, "pace multiplier: 1 is the original pace, 0 no pauses")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or yaml")
	cmd.Flags().StringVar(&types, "types", "", "only event types matching this pattern (e.g. message.>)")
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this sequence number")
	color.register(cmd)
	cmd.Flags().BoolVar(&meta, "meta", false, "show metadata (text); keep it (json, yaml: on by default)")
	cmd.Flags().Lookup("meta").NoOptDefVal = "true"
	return cmd
}
