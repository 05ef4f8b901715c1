// Package nodeclient runs the official JavaScript clients of the agent-UI
// protocols (AG-UI, the AI SDK) from Go tests: scripts in
// wire/testdata/node, with the npm packages pinned by its package.json and
// package-lock.json. Tests skip, with the reason, when node or npm is
// missing; .ci/run installs the packages with npm ci before the tests.
package nodeclient

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/internal/servetest"
)

// Dir is the directory of the scripts and their package.json.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "wire", "testdata", "node")
}

var (
	once     sync.Once
	setupErr string
)

// setup finds node and npm and installs the packages if they are missing.
func setup() {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			setupErr = tool + " is not installed: the official JavaScript clients cannot run"
			return
		}
	}
	if _, err := os.Stat(filepath.Join(Dir(), "node_modules", "@ag-ui", "client")); err == nil {
		if _, err := os.Stat(filepath.Join(Dir(), "node_modules", "ai")); err == nil {
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = Dir()
	if out, err := cmd.CombinedOutput(); err != nil {
		setupErr = "npm ci failed (" + err.Error() + "): " + string(bytes.TrimSpace(out))
	}
}

// Run runs node on script (a file in Dir) with args and returns its
// standard output; it fails the test if the script fails, and skips it
// if node, npm or the packages are not available.
func Run(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	once.Do(setup)
	if setupErr != "" {
		t.Skip(setupErr)
	}
	stdout, stderr, err := node(script, args...)
	if err != nil {
		t.Fatalf("node %s %v: %v\nstdout: %s\nstderr: %s", script, args, err, stdout, stderr)
	}
	return stdout
}

// Output runs node on script with args, like Run, from any goroutine: it
// returns the standard output, or the error and standard error as text,
// and nil if node or the packages are not available (call Run first in
// the test to skip it then).
func Output(script string, args ...string) []byte {
	once.Do(setup)
	if setupErr != "" {
		return nil
	}
	stdout, stderr, err := node(script, args...)
	if err != nil {
		return []byte(err.Error() + ": " + string(stdout) + string(stderr))
	}
	return stdout
}

func node(script string, args ...string) (stdout, stderr []byte, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), "SUPPRESS_TRANSFORMATION_WARNINGS=true")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// CheckFormat serves the recorded sessions and checks the stream format
// with the node script: the demo run five times, cut at random bytes and
// resumed (4 cuts each), and every recorded provider session (ended by a
// run.completed, since an adapter alone does not end a run) once, with 3
// cuts; each script checks one format with its official client.
func CheckFormat(t *testing.T, format, script string) {
	t.Helper()
	demo := recorded.Demo(t)
	url := servetest.Serve(t, demo.Events) + "/v1/sessions/" + demo.Events[0].Meta.SessionID + "/stream?format=" + format
	t.Logf("%s", Run(t, script, "4", "1", url, url, url, url, url))
	var urls []string
	for _, s := range recorded.All(t)[1:] {
		evs := append([]event.Event(nil), s.Events...)
		evs = append(evs, event.New(event.RunCompleted{Status: "done"}, evs[0].Meta))
		urls = append(urls, servetest.Serve(t, evs)+"/v1/sessions/"+s.Name+"/stream?format="+format)
	}
	out := Run(t, script, append([]string{"3", "7"}, urls...)...)
	if n := bytes.Count(out, []byte(`"ok":true`)); n != len(urls) {
		t.Fatalf("%d of %d sessions passed:\n%s", n, len(urls), out)
	}
}
