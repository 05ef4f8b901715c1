package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

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

func newSessionsCmd() *cobra.Command {
	var (
		db, prefix string
		limit      int
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "sessions --db FILE",
		Short: "List the sessions stored in a database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := openDB(ctx, db, true)
			if err != nil {
				return err
			}
			defer st.Close()
			infos, err := st.Sessions(ctx, store.SessionQuery{Prefix: prefix, Limit: limit})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				type row struct {
					ID      string    `json:"id"`
					Count   uint64    `json:"count"`
					LastSeq uint64    `json:"last_seq"`
					First   time.Time `json:"first,omitzero"`
					Last    time.Time `json:"last,omitzero"`
				}
				rows := make([]row, len(infos))
				for i, s := range infos {
					rows[i] = row{s.ID, s.Count, s.LastSeq, s.First, s.Last}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SESSION\tEVENTS\tLAST SEQ\tFIRST\tLAST")
			for _, s := range infos {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", cell(s.ID), s.Count, s.LastSeq, stamp(s.First), stamp(s.Last))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "SQLite database file")
	cmd.Flags().StringVar(&prefix, "prefix", "", "only sessions whose ID starts with this")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many sessions (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// maxCell is the widest session ID the sessions table prints whole.
const maxCell = 64

// cell makes a session ID fit one cell of a table: every character a
// terminal could act on, or that would break the table (control
// characters, newlines and tabs included, C1 controls, bytes that are not
// UTF-8), is written as a visible escape (\x1b, \n, \t, \u009b, \xff),
// as replay and tail do, and an ID longer than maxCell bytes is cut, saying
// how much was left out (sessions --json prints IDs whole).
func cell(id string) string {
	var b strings.Builder
	for i, r := range id {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(id[i:], string(utf8.RuneError)):
			fmt.Fprintf(&b, `\x%02x`, id[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case strconv.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return printer.Cut(b.String(), maxCell)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05.000")
}

func newReplayCmd() *cobra.Command {
	var (
		db, session, format, types string
		speed                      float64
		after                      uint64
		meta                       bool
	)
	cmd := &cobra.Command{
		Use:   "replay --db FILE --session ID",
		Short: "Print a stored session, paced like the original run",
		Long: "replay reads a session from the database and prints its events, keeping the original pauses\n" +
			"between them divided by --speed (--speed 0: no pauses).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if session == "" {
				return fmt.Errorf("--session ID is required (list them with: sluice sessions --db %s)", db)
			}
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
			sink, flush, err := newPrinter(cmd.OutOrStdout(), format, printer.WithMeta(meta))
			if err != nil {
				return err
			}
			st, err := openDB(ctx, db, true)
			if err != nil {
				return err
			}
			defer st.Close()
			if _, err := st.Session(ctx, session); err != nil {
				return err
			}
			events := st.Read(ctx, store.Query{Session: session, After: after, Types: pattern})
			err = replay.Run(ctx, events, sink, replay.WithSpeed(speed), replay.WithMaxGap(5*time.Second))
			if ferr := flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "SQLite database file")
	cmd.Flags().StringVar(&session, "session", "", "the session to replay")
	cmd.Flags().Float64Var(&speed, "speed", 1, "pace multiplier: 1 is the original pace, 0 no pauses")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or yaml")
	cmd.Flags().StringVar(&types, "types", "", "only event types matching this pattern (e.g. message.>)")
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this sequence number")
	cmd.Flags().BoolVar(&meta, "meta", false, "show metadata (text); keep it (json, yaml: on by default)")
	cmd.Flags().Lookup("meta").NoOptDefVal = "true"
	return cmd
}
