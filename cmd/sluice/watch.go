package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/watch/tui"
)

// watchProgram holds extra options for the watch screen's program; tests
// set its input, output and size.
var watchProgram []tea.ProgramOption

func newWatchCmd() *cobra.Command {
	var db, key string
	cmd := &cobra.Command{
		Use:   "watch [URL | --db FILE]",
		Short: "Follow sessions live on a terminal screen",
		Long: "watch shows a live screen of a Sluice server's sessions (URL, with --key or SLUICE_KEY) or\n" +
			"of a database (--db FILE, which another process may be writing): every session with its\n" +
			"tokens, cost, status and last activity; enter opens one, to follow its conversation as it\n" +
			"streams (text, thinking that t shows or hides, tool calls with arguments and results,\n" +
			"errors); tab shows its raw events, / filters them by type (message.>, tool.call.*). Scrolling\n" +
			"up stops following the end; G (or f) follows again. Over a server it reconnects after a\n" +
			"dropped connection and resumes after the last event it showed. q quits.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (db != "") {
				return errors.New("give a server URL or --db FILE (one of them)")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var src tui.Source
			if db != "" {
				st, err := openDB(ctx, db, true)
				if err != nil {
					return err
				}
				defer st.Close()
				// Poll often: another process may be appending to the file.
				h, err := hub.New(st, hub.WithPoll(200*time.Millisecond))
				if err != nil {
					return err
				}
				defer h.Close(context.WithoutCancel(ctx))
				src = tui.HubSource{Hub: h, Name: filepath.Base(db)}
			} else {
				if key == "" {
					key = os.Getenv("SLUICE_KEY")
				}
				s := tui.ServerSource{URL: args[0], Key: key}
				if _, err := tailURL(s.URL, "", ""); err != nil {
					return err
				}
				src = s
			}
			opts := append([]tea.ProgramOption{tea.WithInput(cmd.InOrStdin()), tea.WithOutput(cmd.OutOrStdout())}, watchProgram...)
			if err := tui.Run(ctx, src, tui.WithProgramOptions(opts...)); err != nil {
				return fmt.Errorf("watch: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "follow this SQLite database instead of a server")
	cmd.Flags().StringVar(&key, "key", "", "API key (default: $SLUICE_KEY)")
	return cmd
}
