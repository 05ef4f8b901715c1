package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// child is a sluice process that a test started (see nodeEnv).
type child struct {
	http string // the address it serves on
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
}

// startSluice runs sluice with args in a process of its own (this test
// binary, run again with nodeEnv; see TestMain) that serves on addr. The
// process is stopped when the test ends (SIGTERM, SIGKILL after 10 s),
// and its output logged if the test failed.
func startSluice(t *testing.T, addr string, args ...string) *child {
	t.Helper()
	c := &child{http: addr, log: &syncBuffer{}, done: make(chan struct{})}
	js, _ := json.Marshal(args)
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), nodeEnv+"="+string(js))
	c.cmd.Stderr, c.cmd.Stdout = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("sluice %v on %s:\n%s", args, addr, c.log.String())
		}
	})
	return c
}

// ready waits until the process answers GET /readyz with 200.
func (c *child) ready(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + c.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice on %s did not get ready: %v\n%s", c.http, err, c.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill kills the process with SIGKILL and waits until it has exited.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done
}
