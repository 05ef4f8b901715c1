package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/printer"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/wire"
)

// tailURL returns the stream URL for a server's base URL: one session's
// stream, or the stream of every session. A URL that already names a
// /v1/ path is used as it is.
func tailURL(base, session, types string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("%q is not a server URL such as http://127.0.0.1:7420", base)
	}
	if strings.Contains(u.Path, "/v1/") {
		return u.String(), nil
	}
	u.Path = strings.TrimRight(u.Path, "/")
	q := u.Query()
	if session != "" {
		raw := u.EscapedPath() + "/v1/sessions/" + url.PathEscape(session) + "/stream"
		u.Path += "/v1/sessions/" + session + "/stream"
		u.RawPath = raw       // keeps a "/" in the session ID escaped
		q.Set("wait", "true") // follow a session that has not started yet
	} else {
		u.Path += "/v1/stream"
	}
	if types != "" {
		q.Set("types", types)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func newTailCmd() *cobra.Command {
	var (
		session, types, format, key string
		after                       uint64
		meta                        bool
		color                       colorFlags
	)
	cmd := &cobra.Command{
		Use:   "tail URL",
		Short: "Follow a server's events live, resuming after dropped connections",
		Long: "tail follows a Sluice server's event stream: one session (--session) or every session,\n" +
			"optionally only the types matching --types. It prints events as they arrive and, when the\n" +
			"connection drops, reconnects and resumes after the last event it printed: no gap, no\n" +
			"duplicate. --after N starts after cursor N (a sequence number with --session, a log\n" +
			"position without). The key comes from --key or SLUICE_KEY.\n\n" +
			"It says on standard error when it connects, and when the session does not exist yet (it\n" +
			"then waits for its first event). Following every session as text, it prints a line\n" +
			"\"── session ID ──\" whenever the events switch to another session.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if types != "" {
				if _, err := event.ParsePattern(types); err != nil {
					return fmt.Errorf("--types: %w", err)
				}
			}
			if format != "text" && !cmd.Flags().Changed("meta") {
				meta = true
			}
			if format == "yaml" {
				return fmt.Errorf("--format must be text or json, got %q", format)
			}
			out := cmd.OutOrStdout()
			colored := color.enabled(out)
			sink, flush, err := newPrinter(out, format, printer.WithMeta(meta), printer.WithColor(colored))
			if err != nil {
				return err
			}
			target, err := tailURL(args[0], session, types)
			if err != nil {
				return err
			}
			if key == "" {
				key = os.Getenv("SLUICE_KEY")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			errOut := cmd.ErrOrStderr()
			c := &wire.Client{Header: http.Header{}}
			if key != "" {
				c.Header.Set("Authorization", "Bearer "+key)
			}
			last := ""
			if after > 0 {
				last = strconv.FormatUint(after, 10)
			}
			if session != "" && !strings.Contains(args[0], "/v1/") {
				waitingFor(ctx, errOut, args[0], key, session)
			}
			c.OnConnect = func(lastID string) {
				if lastID == "" {
					fmt.Fprintf(errOut, "sluice tail: connected to %s\n", target)
				} else {
					fmt.Fprintf(errOut, "sluice tail: reconnected; resuming after %s\n", lastID)
				}
			}
			label := labeler{on: session == "" && format == "text", color: colored, w: out, flush: flush}
			c.OnRetry = func(err error, wait time.Duration) {
				where := "from the start"
				if last != "" {
					where = "after " + last
				}
				fmt.Fprintf(errOut, "sluice tail: %v; resuming %s in %s\n", err, where, wait.Round(time.Millisecond))
			}
			err = c.Stream(ctx, target, last, func(ev wire.Event) error {
				switch ev.Type {
				case server.SSEReconnect, server.SSEError:
					fmt.Fprintf(errOut, "sluice tail: server says %s: %s\n", ev.Type, ev.Data)
					return nil
				}
				var e event.Event
				if err := event.Unmarshal(ev.Data, &e); err != nil {
					return fmt.Errorf("event %s: %w", ev.ID, err)
				}
				last = ev.ID
				if err := label.before(&e); err != nil {
					return err
				}
				if err := sink.Publish(ctx, &e); err != nil {
					return err
				}
				return nil
			})
			if ferr := flush(); err == nil {
				err = ferr
			}
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&session, "session", "", "follow this session (default: every session)")
	cmd.Flags().StringVar(&types, "types", "", "only event types matching this pattern (e.g. message.>)")
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this cursor (sequence number with --session, position without)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&key, "key", "", "API key (default: $SLUICE_KEY)")
	color.register(cmd)
	cmd.Flags().BoolVar(&meta, "meta", false, "show metadata (text); keep it (json: on by default)")
	cmd.Flags().Lookup("meta").NoOptDefVal = "true"
	return cmd
}

// waitingFor says on w that tail waits for session if the server at base
// does not know it yet. It stays silent when it cannot tell: the stream
// then reports what is wrong.
func waitingFor(ctx context.Context, w io.Writer, base, key, session string) {
	lg, err := newRemoteLog(base, key)
	if err != nil {
		return
	}
	defer lg.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a slow answer must not hold up the stream
	defer cancel()
	if _, err := lg.Session(ctx, session); errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(w, "sluice tail: session %s does not exist yet; waiting for its first event\n", cell(session))
	}
}

// labeler prints a line naming the session whenever the events of a tail
// of every session switch from one session to another, so that interleaved
// runs can be told apart.
type labeler struct {
	on    bool
	color bool
	w     io.Writer
	flush func() error // ends the printer's unfinished line
	last  string
}

func (l *labeler) before(ev *event.Event) error {
	s := ev.Meta.SessionID
	if !l.on || s == l.last {
		return nil
	}
	l.last = s
	if err := l.flush(); err != nil {
		return err
	}
	line := "── session " + cell(s) + " ──"
	if l.color {
		line = ansiBold + line + ansiOff
	}
	_, err := fmt.Fprintln(l.w, line)
	return err
}
