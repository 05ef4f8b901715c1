package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluice-events/sluice/event"
)

// maxLine bounds one line of a validated file.
const maxLine = 64 << 20

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a file of newline-delimited JSON events (- for stdin)",
		Long: "validate reads newline-delimited JSON events from FILE, or from standard input when FILE\n" +
			"is -, and prints \"line N: reason\" for each event that does not decode or validate.\n" +
			"Blank lines are skipped. It exits 1 if any event is bad and 0 otherwise.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, closeIn, err := openInput(cmd, args[0])
			if err != nil {
				return err
			}
			defer closeIn()
			bad, total, err := validateStream(in, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d events, %d bad\n", total, bad)
			if bad > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
}

// validateStream checks every line of r and reports the bad ones to w.
func validateStream(r io.Reader, w io.Writer) (bad, total int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		data := bytes.TrimSpace(sc.Bytes())
		if len(data) == 0 {
			continue
		}
		total++
		var ev event.Event
		err := event.Unmarshal(data, &ev)
		if err == nil {
			err = ev.Validate()
		}
		if err != nil {
			bad++
			fmt.Fprintf(w, "line %d: %v\n", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return bad, total, fmt.Errorf("line %d: longer than %d bytes", line+1, maxLine)
		}
		return bad, total, err
	}
	return bad, total, nil
}

// openInput opens the file name, or standard input for "-", and returns it
// with the function that closes it.
func openInput(cmd *cobra.Command, name string) (io.Reader, func(), error) {
	if name == "-" {
		return cmd.InOrStdin(), func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
