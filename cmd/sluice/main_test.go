package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/event"
)

// run executes the CLI in-process with args and stdin.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

func exitCode(err error) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 2
}

// TestVersion: "sluice version" and "sluice --version" print the version
// with the build information (module path, Go version).
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, err := run(t, "", args...)
		if err != nil || !strings.HasPrefix(out, "sluice ") || !strings.Contains(out, "go        go1.") ||
			!strings.Contains(out, "module    github.com/sluice-events/sluice") {
			t.Errorf("%v = %q, %v", args, out, err)
		}
	}
}

func TestCatalogJSON(t *testing.T) {
	out, _, err := run(t, "", "catalog", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []struct {
		Type        string            `json:"type"`
		Description string            `json:"description"`
		Fields      []json.RawMessage `json:"fields"`
		Aliases     []string          `json:"aliases"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) < 100 {
		t.Fatalf("%d entries", len(entries))
	}
	byType := map[string]int{}
	for i, e := range entries {
		if e.Type == "" || e.Description == "" || e.Fields == nil || e.Aliases == nil {
			t.Errorf("entry %d incomplete: %+v", i, e)
		}
		byType[e.Type] = i
	}
	delta := entries[byType["message.text.delta"]]
	for _, want := range []string{"geppetto:partial", "ainative:TextDelta", "promptkit-sdk:stream", "gomcptest:chat.completion.chunk"} {
		if !slicesContains(delta.Aliases, want) {
			t.Errorf("message.text.delta aliases %v lack %s", delta.Aliases, want)
		}
	}
	if len(delta.Fields) != 3 {
		t.Errorf("message.text.delta has %d fields", len(delta.Fields))
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestCatalogText(t *testing.T) {
	out, _, err := run(t, "", "catalog")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"message.text.delta\n", "    offset (integer): byte offset", "aliases: promptkit:pipeline.started"} {
		if !strings.Contains(out, want) {
			t.Errorf("catalog output lacks %q", want)
		}
	}
}

func TestValidate(t *testing.T) {
	good1, _ := event.Marshal(event.New(event.TextDelta{Text: "hi"}, event.Meta{SessionID: "s"}))
	good2, _ := event.Marshal(event.New(event.ToolCallStarted{Name: "search", Arguments: []byte(`{"q":1}`)}))
	noID := `{"type":"agent.log","time":"2026-11-21T10:00:00Z","payload":{"level":"info","message":"m"}}`
	input := string(good1) + "\n\n" + "{not json\n" + noID + "\n" + string(good2) + "\n"

	dir := t.TempDir()
	file := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(file, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate", file}, {"validate", "-"}} {
		stdin := ""
		if args[1] == "-" {
			stdin = input
		}
		out, stderr, err := run(t, stdin, args...)
		if code := exitCode(err); code != 1 {
			t.Errorf("%v: exit %d (%v), want 1", args, code, err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "line 3: malformed event") ||
			!strings.HasPrefix(lines[1], "line 4: invalid event: missing id") {
			t.Errorf("%v: output %q", args, out)
		}
		if !strings.Contains(stderr, "4 events, 2 bad") {
			t.Errorf("%v: summary %q", args, stderr)
		}
	}

	out, _, err := run(t, string(good1)+"\n"+string(good2)+"\n", "validate", "-")
	if exitCode(err) != 0 || out != "" {
		t.Errorf("all good: exit %d, output %q", exitCode(err), out)
	}
	if _, _, err := run(t, "", "validate", filepath.Join(dir, "missing")); exitCode(err) != 2 {
		t.Errorf("missing file: %v", err)
	}
}

// TestDocsUpToDate checks that docs/events.md and docs/wire.md are what the
// catalog generates; run "go run ./cmd/sluice gendocs docs" after changing it.
func TestDocsUpToDate(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := run(t, "", "gendocs", dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"events.md", "wire.md"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docs/%s is stale: run go run ./cmd/sluice gendocs docs", name)
		}
	}
}

// TestWireExamples checks that every example in docs/wire.md decodes to a
// valid event and that every built-in type has one.
func TestWireExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "wire.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)### (\\S+)\n\n```json\n(.*?)\n```").FindAllSubmatch(doc, -1)
	seen := map[event.Type]bool{}
	for _, b := range blocks {
		var ev event.Event
		if err := event.Unmarshal(b[2], &ev); err != nil {
			t.Errorf("%s: %v", b[1], err)
			continue
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("%s: %v", b[1], err)
		}
		if string(ev.Type) != string(b[1]) {
			t.Errorf("example under %s has type %s", b[1], ev.Type)
		}
		if _, raw := ev.Payload.(event.Raw); raw {
			t.Errorf("%s decoded as raw", b[1])
		}
		seen[ev.Type] = true
	}
	for _, d := range builtinTypes() {
		if !seen[d.Type] {
			t.Errorf("no example for %s", d.Type)
		}
	}
}
