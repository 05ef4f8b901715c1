package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
)

const (
	crashEnv = "SLUICE_CRASH_DB"
	// mergeEnv, if set, is the child's merge threshold: small, so that the
	// kill often lands in a merge.
	mergeEnv = "SLUICE_CRASH_MERGE"
)

// crashChild runs the child's append loop when the test binary was started
// by TestCrash; it never returns then (the parent kills it).
func crashChild() bool {
	path := os.Getenv(crashEnv)
	if path == "" {
		return false
	}
	var opts []sqlite.Option
	if n, err := strconv.ParseInt(os.Getenv(mergeEnv), 10, 64); err == nil {
		opts = append(opts, sqlite.WithMerge(n, 5))
	}
	s, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(2)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			sess := fmt.Sprintf("crash-%d", w%2)
			for i := 0; ; i++ {
				batch := make([]event.Event, 1+i%4)
				for j := range batch {
					batch[j] = event.New(event.TextDelta{Text: strings.Repeat("x", 10+i%200)}, event.Meta{SessionID: sess})
				}
				if err := s.Append(context.Background(), batch); err != nil {
					fmt.Println("append error:", err)
					os.Exit(3)
				}
				var b strings.Builder
				for _, e := range batch {
					fmt.Fprintf(&b, "ack %s %d %s\n", sess, e.Seq, e.ID)
				}
				os.Stdout.WriteString(b.String()) // one write per batch
			}
		})
	}
	wg.Wait()
	return true
}

type ack struct {
	seq uint64
	id  string
}

// TestCrash kills an appending child process with SIGKILL at random moments
// and checks that every acknowledged event survived and that the sequence
// goes on without a gap. In odd rounds the child merges recent into events
// every 16 events, so that kills land in merges too.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is slow")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := map[string][]ack{}
	for round := range 4 {
		merge := ""
		if round%2 == 1 {
			merge = "16"
		}
		acks := runChild(t, path, merge, time.Duration(50+rand.IntN(250))*time.Millisecond)
		if len(acks) == 0 {
			t.Fatalf("round %d: the child acknowledged nothing", round)
		}
		for sess, as := range acks {
			acked[sess] = append(acked[sess], as...)
		}
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		for sess, as := range acked {
			stored := map[uint64]string{}
			var last uint64
			for e, err := range s.Read(t.Context(), store.Query{Session: sess}) {
				if err != nil {
					t.Fatalf("round %d: read: %v", round, err)
				}
				if e.Seq != last+1 {
					t.Fatalf("round %d: session %s: seq %d after %d", round, sess, e.Seq, last)
				}
				last = e.Seq
				stored[e.Seq] = e.ID.String()
			}
			for _, a := range as {
				if stored[a.seq] != a.id {
					t.Fatalf("round %d: session %s: acknowledged event %d (%s) is missing after the crash (stored %q)", round, sess, a.seq, a.id, stored[a.seq])
				}
			}
			info, err := s.Session(t.Context(), sess)
			if err != nil || info.LastSeq != last || info.Count != last {
				t.Fatalf("round %d: session %s: %+v, %v; read %d events", round, sess, info, err, last)
			}
			next := []event.Event{event.New(event.TextDelta{Text: "after"}, event.Meta{SessionID: sess})}
			if err := s.Append(t.Context(), next); err != nil || next[0].Seq != last+1 {
				t.Fatalf("round %d: session %s: append after crash got seq %d (%v), want %d", round, sess, next[0].Seq, err, last+1)
			}
			acked[sess] = append(acked[sess], ack{next[0].Seq, next[0].ID.String()})
		}
		t.Logf("round %d: killed after %d acknowledged batches' events; all present", round, countAcks(acks))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func countAcks(m map[string][]ack) int {
	n := 0
	for _, as := range m {
		n += len(as)
	}
	return n
}

// runChild starts the child (with merge as its merge threshold, unless
// empty), lets it append for about d after its first
// acknowledgement, kills it with SIGKILL and returns what it acknowledged.
func runChild(t *testing.T, path, merge string, d time.Duration) map[string][]ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path, mergeEnv+"="+merge)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks := map[string][]ack{}
	first := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.OnceFunc(func() { close(first) })
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 4 || f[0] != "ack" {
				done <- fmt.Errorf("child said %q", sc.Text())
				return
			}
			seq, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil {
				done <- err
				return
			}
			acks[f[1]] = append(acks[f[1]], ack{seq, f[3]})
			once()
		}
		done <- nil
	}()
	select {
	case <-first:
	case err := <-done:
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child ended before acknowledging anything: %v", err)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("child acknowledged nothing in 30s")
	}
	time.Sleep(d)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return acks
}
