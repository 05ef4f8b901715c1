package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/printer"
	"github.com/sluice-events/sluice/store"
)

// newSessionsCmd is "sluice sessions": it lists sessions, and its
// subcommands delete, prune, export and import them. The flags that choose
// the log (--db, --postgres, --server, --key) are shared.
func newSessionsCmd() *cobra.Command {
	var (
		where  logFlags
		prefix string
		limit  int
		asJSON bool
		recent bool
	)
	cmd := &cobra.Command{
		Use:   "sessions (--db FILE | --postgres DSN | --server URL)",
		Short: "List, delete, prune, export and import stored sessions",
		Long: "sessions lists the sessions of a database or a server. Its subcommands manage them:\n" +
			"delete removes sessions, prune removes those idle for longer than a duration, export\n" +
			"writes sessions as NDJSON (one event per line) and import reads such a file back.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			lg, err := where.open(ctx, true)
			if err != nil {
				return err
			}
			defer lg.Close()
			q := store.SessionQuery{Prefix: prefix, Limit: limit}
			if recent {
				q.Order = store.ByActivity
			}
			infos, err := lg.Sessions(ctx, q)
			if err != nil {
				return err
			}
			return printSessions(cmd.OutOrStdout(), infos, asJSON)
		},
	}
	where.register(cmd.PersistentFlags())
	cmd.Flags().StringVar(&prefix, "prefix", "", "only sessions whose ID starts with this")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many sessions (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&recent, "recent", false, "newest activity first (default: by session ID)")
	cmd.AddCommand(newSessionsDeleteCmd(&where), newSessionsPruneCmd(&where), newSessionsExportCmd(&where), newSessionsImportCmd(&where))
	return cmd
}

// printSessions writes infos as a table, or as a JSON array.
func printSessions(out io.Writer, infos []store.SessionInfo, asJSON bool) error {
	if asJSON {
		rows := make([]sessionRow, len(infos))
		for i, si := range infos {
			rows[i] = sessionRow{si.ID, si.Count, si.LastSeq, si.LastPos, si.First, si.Last}
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
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05.000")
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

func newSessionsDeleteCmd(where *logFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID...",
		Short: "Delete sessions: their events and their summaries",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			ctx := cmd.Context()
			lg, err := where.open(ctx, true)
			if err != nil {
				return err
			}
			defer lg.Close()
			for _, id := range ids {
				if err := deleteSession(ctx, cmd.OutOrStdout(), lg, id); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// deleteSession deletes one session and says so on out.
func deleteSession(ctx context.Context, out io.Writer, lg sessionLog, id string) error {
	si, err := lg.Session(ctx, id)
	if err == nil {
		err = lg.Delete(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("delete session %s: %w", cell(id), err)
	}
	_, err = fmt.Fprintf(out, "deleted session %s (%d events)\n", cell(id), si.Count)
	return err
}

// parseAge reads a duration such as 90m, 36h or 30d (days are 24 hours).
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a positive number of days", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 90m, 36h or 30d", s)
	}
	return d, nil
}

func newSessionsPruneCmd(where *logFlags) *cobra.Command {
	var (
		olderThan string
		dryRun    bool
	)
	cmd := &cobra.Command{
		Use:   "prune --older-than AGE",
		Short: "Delete the sessions whose last event is older than AGE (90m, 36h, 30d)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if olderThan == "" {
				return errors.New("--older-than AGE is required (for example 30d)")
			}
			age, err := parseAge(olderThan)
			if err != nil {
				return fmt.Errorf("--older-than: %w", err)
			}
			ctx := cmd.Context()
			lg, err := where.open(ctx, true)
			if err != nil {
				return err
			}
			defer lg.Close()
			infos, err := lg.Sessions(ctx, store.SessionQuery{})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			cutoff := time.Now().Add(-age)
			sessions, events := 0, uint64(0)
			for _, si := range infos {
				if !si.Last.Before(cutoff) {
					continue
				}
				if dryRun {
					fmt.Fprintf(out, "would delete session %s (%d events, last %s)\n", cell(si.ID), si.Count, stamp(si.Last))
				} else if err := deleteSession(ctx, out, lg, si.ID); err != nil {
					return err
				}
				sessions++
				events += si.Count
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			_, err = fmt.Fprintf(out, "%s %d of %d sessions (%d events) idle since before %s\n", verb, sessions, len(infos), events, stamp(cutoff))
			return err
		},
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "", "delete sessions whose last event is older than this (90m, 36h, 30d)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only print what would be deleted")
	return cmd
}

func newSessionsExportCmd(where *logFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [ID...]",
		Short: "Write sessions (default: all) as NDJSON, one event per line",
		Long: "export writes the events of the given sessions (all sessions without IDs), each session in\n" +
			"sequence order, one JSON event per line (the wire format; \"sluice validate\" accepts it,\n" +
			"\"sluice sessions import\" reads it back) to standard output or --output FILE.",
		RunE: func(cmd *cobra.Command, ids []string) (err error) {
			ctx := cmd.Context()
			lg, err := where.open(ctx, true)
			if err != nil {
				return err
			}
			defer lg.Close()
			if len(ids) == 0 {
				infos, err := lg.Sessions(ctx, store.SessionQuery{})
				if err != nil {
					return err
				}
				for _, si := range infos {
					ids = append(ids, si.ID)
				}
			} else {
				for _, id := range ids {
					if _, err := lg.Session(ctx, id); err != nil {
						return fmt.Errorf("session %s: %w", cell(id), err)
					}
				}
			}
			out := cmd.OutOrStdout()
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer func() {
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}()
				out = f
			}
			w := bufio.NewWriter(out)
			n, err := exportSessions(ctx, w, lg, ids)
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "sluice sessions export: %d events of %d sessions\n", n, len(ids))
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

// exportSessions writes every event of the sessions ids to w as NDJSON and
// returns how many it wrote.
func exportSessions(ctx context.Context, w io.Writer, lg sessionLog, ids []string) (int, error) {
	var buf []byte
	n := 0
	for _, id := range ids {
		for ev, err := range lg.Read(ctx, store.Query{Session: id}) {
			if err != nil {
				return n, fmt.Errorf("session %s: %w", cell(id), err)
			}
			if buf, err = ev.AppendJSON(buf[:0]); err != nil {
				return n, fmt.Errorf("session %s, event %d: %w", cell(id), ev.Seq, err)
			}
			if _, err := w.Write(append(buf, '\n')); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// importBatch is how many events an import appends at a time.
const importBatch = 1000

func newSessionsImportCmd(where *logFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE|-",
		Short: "Append the events of an NDJSON file (from sessions export) to the log",
		Long: "import reads one JSON event per line (- for standard input), checks every line first, and\n" +
			"appends the events in order; the log gives them new sequence numbers in their sessions.\n" +
			"A bad line stops the import before anything is stored.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, closeIn, err := openInput(cmd, args[0])
			if err != nil {
				return err
			}
			defer closeIn()
			events, err := readNDJSON(in)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			lg, err := where.open(ctx, false)
			if err != nil {
				return err
			}
			defer lg.Close()
			sessions := map[string]bool{}
			for i := 0; i < len(events); i += importBatch {
				batch := events[i:min(i+importBatch, len(events))]
				if err := lg.Append(ctx, batch); err != nil {
					return fmt.Errorf("after %d of %d events: %w", i, len(events), err)
				}
				for _, ev := range batch {
					sessions[ev.Meta.SessionID] = true
				}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "imported %d events into %d sessions\n", len(events), len(sessions))
			return err
		},
	}
}

// readNDJSON decodes and validates one event per non-blank line, naming the
// line of the first bad one. Sequence numbers are dropped: the log assigns
// new ones.
func readNDJSON(r io.Reader) ([]event.Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	var events []event.Event
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var ev event.Event
		if err := event.Unmarshal(b, &ev); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if err := ev.Validate(); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if ev.Meta.SessionID == "" {
			return nil, fmt.Errorf("line %d: the event has no session (meta.session)", line)
		}
		ev.Seq = 0
		events = append(events, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return events, nil
}
