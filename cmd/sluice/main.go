// Command sluice is the command-line tool of Sluice: it prints the event
// catalog, validates files of events, and runs the demo.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries an exit code out of a command without printing more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "sluice:", err)
		os.Exit(2)
	}
}

// newRootCmd builds the command tree; tests run it in-process.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Sluice carries the typed events of LLM and agent runs",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate(versionInfo())
	root.AddCommand(newVersionCmd(), newCatalogCmd(), newValidateCmd(), newDocsCmd(), newDemoCmd(), newSessionsCmd(), newReplayCmd(), newServeCmd(), newTailCmd(), newWatchCmd())
	return root
}
