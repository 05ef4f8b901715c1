package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"
)

// colorFlags are --color and --no-color. Without either, text output is
// colored when it goes to a terminal and NO_COLOR is unset or empty
// (https://no-color.org).
type colorFlags struct{ on, off bool }

func (c *colorFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.on, "color", false, "color the text output with ANSI escapes (default: on a terminal, unless NO_COLOR is set)")
	cmd.Flags().BoolVar(&c.off, "no-color", false, "never color the text output")
	cmd.MarkFlagsMutuallyExclusive("color", "no-color")
}

// enabled reports whether output written to w is colored.
func (c *colorFlags) enabled(w io.Writer) bool {
	switch {
	case c.off:
		return false
	case c.on:
		return true
	case os.Getenv("NO_COLOR") != "":
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a file that is a terminal (a character
// device, which is what a terminal is on Unix and Windows consoles).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}
