//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	return m, s
}

func setSize(t *testing.T, master *os.File, term *terminal, w, h int) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(w), Row: uint16(h)}); err != nil {
		t.Fatal(err)
	}
	term.mu.Lock()
	term.emu.Resize(w, h)
	term.mu.Unlock()
}

// `sluice watch` on a real pseudo-terminal: it takes the terminal's size,
// and redraws to fit when the window is resized (SIGWINCH).
func TestWatchOnAPseudoTerminalResizes(t *testing.T) {
	db := recordedDemoDB(t)

	master, slave := openPTY(t)
	defer master.Close()
	defer slave.Close()
	term := newTerminal(100, 30)
	setSize(t, master, term, 100, 30)
	go io.Copy(term, master)     // what the program draws
	go io.Copy(master, term.emu) // the terminal's answers to its queries
	defer term.close()

	cmd := newRootCmd()
	cmd.SetArgs([]string{"watch", "--db", db})
	cmd.SetIn(slave)
	cmd.SetOut(slave)
	cmd.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()

	term.waitFor(t, "SESSION", "973/137", "claude-sonnet-4-5-20250929")
	last := func() string {
		lines := strings.Split(term.screen(), "\n")
		return lines[len(lines)-1]
	}
	if !strings.Contains(last(), "enter open") {
		t.Fatalf("the keys are not on the last of 30 rows:\n%s", term.screen())
	}

	setSize(t, master, term, 60, 12)
	syscall.Kill(os.Getpid(), syscall.SIGWINCH)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(last(), "enter open") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	screen := term.screen()
	if !strings.Contains(last(), "enter open") || strings.Contains(screen, "claude-sonnet-4-5-20250929") {
		t.Errorf("after the resize to 60×12 the screen does not fit:\n%s", screen)
	}
	t.Logf("after the resize:\n%s", screen)
	io.WriteString(master, "q") // typed at the terminal
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
