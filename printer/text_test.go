package printer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/printer"
)

var (
	_ sluice.Sink = (*printer.TextPrinter)(nil)
	_ sluice.Sink = (*printer.JSONPrinter)(nil)
	_ sluice.Sink = (*printer.YAMLPrinter)(nil)
)

func publishAll(t testing.TB, s sluice.Sink, evs []event.Event) {
	t.Helper()
	for i := range evs {
		if err := s.Publish(context.Background(), &evs[i]); err != nil {
			t.Fatalf("Publish(%s): %v", evs[i].Type, err)
		}
	}
}

const scriptText = `message.started id=msg1 role=assistant model=claude-x
thinking: The user wants the weather.
          Call the tool.
Let me check.
tool.call.requested get_weather call_id=call_1
  {
    "city": "Paris",
    "days": 2
  }
message.stopped id=msg1 stop_reason=tool_use
tool.call.started get_weather call_id=call_1
  {
    "city": "Paris",
    "days": 2
  }
tool.call.completed get_weather call_id=call_1 status=success duration=12.346ms
  {
    "temp_c": 21,
    "sky": [
      "sun",
      "clouds"
    ]
  }
provider.call.completed anthropic/claude-x duration=1.235s input=1200 cached=1000 output=80 reasoning=30 cost=$0.0123 finish=tool_use tool_calls=1
ERROR stream.error: overloaded_error: Overloaded (provider, retryable)
myapp.progress step=3 of=10 note="half way"
WARN delivery.dropped count=2 reason=queue_full
`

func TestTextScript(t *testing.T) {
	var out bytes.Buffer
	publishAll(t, must(printer.Text(&out)), script())
	if got := out.String(); got != scriptText {
		t.Errorf("output:\n%s\nwant:\n%s", got, scriptText)
	}
}

func TestTextHideThinking(t *testing.T) {
	var out bytes.Buffer
	p := must(printer.Text(&out, printer.WithThinking(false)))
	if p.Enabled(context.Background(), event.TypeThinkingDelta) || p.Enabled(context.Background(), event.TypeThinkingCompleted) {
		t.Error("Enabled reports true for thinking with WithThinking(false)")
	}
	if !p.Enabled(context.Background(), event.TypeTextDelta) {
		t.Error("Enabled reports false for text")
	}
	publishAll(t, p, script()[:12])
	want := `message.started id=msg1 role=assistant model=claude-x
Let me check.
tool.call.requested get_weather call_id=call_1
  {
    "city": "Paris",
    "days": 2
  }
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestTextMeta(t *testing.T) {
	evs := script()
	evs[0].Meta.Labels = map[string]string{"env": "prod", "app": "my app"}
	var out bytes.Buffer
	publishAll(t, must(printer.Text(&out, printer.WithMeta(true))), []event.Event{evs[0], evs[7], evs[8], evs[9]})
	want := `[2025-01-02T03:04:05.001Z seq=1 id=00000000-0000-7000-8000-000000000001 run=run1 session=s1 inference=inf1 message=msg1 label.app="my app" label.env=prod] message.started id=msg1 role=assistant model=claude-x
[2025-01-02T03:04:05.008Z seq=8 id=00000000-0000-7000-8000-000000000008 run=run1 session=s1 inference=inf1 message=msg1] Let me check.
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestTextColor(t *testing.T) {
	var out bytes.Buffer
	publishAll(t, must(printer.Text(&out, printer.WithColor(true))), script()[2:4])
	publishAll(t, must(printer.Text(&out, printer.WithColor(true))), script()[16:17])
	want := "\x1b[2mthinking: \x1b[0m\x1b[2mThe user wants \x1b[0m\x1b[2mthe weather.\x1b[0m\n" +
		"          \x1b[2mCall the tool.\x1b[0m" +
		"\x1b[31mERROR stream.error\x1b[0m: overloaded_error: Overloaded (provider, retryable)\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestTextCompletedWithoutDeltas(t *testing.T) {
	src := source()
	evs := []event.Event{
		src.New(event.ThinkingCompleted{Text: "Hmm."}, event.Meta{}),
		src.New(event.TextCompleted{Text: "Whole answer."}, event.Meta{}),
		src.New(event.TextCompleted{Text: ""}, event.Meta{}),
	}
	var out bytes.Buffer
	publishAll(t, must(printer.Text(&out)), evs)
	want := "thinking: Hmm.\nWhole answer.\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestTextInterleaved(t *testing.T) {
	src := source()
	a := event.Meta{SessionID: "a"}
	b := event.Meta{SessionID: "b"}
	evs := []event.Event{
		src.New(event.TextDelta{Text: "Hello "}, a),
		src.New(event.TextDelta{Text: "Bonjour "}, b),
		src.New(event.TextDelta{Text: "world"}, a),
		src.New(event.Status{Status: "thinking"}, b),
		src.New(event.TextDelta{Text: "le monde"}, b),
		src.New(event.BlockStopped{Index: 0, Kind: "text"}, a), // not the current stream: no break
		src.New(event.TextDelta{Text: "!\nSecond line"}, b),
		src.New(event.TextCompleted{Text: "Bonjour le monde!\nSecond line"}, b),
		src.New(event.TextCompleted{Text: "Hello world"}, a), // streamed: not repeated
		src.New(event.ToolCallDelta{CallID: "c1", Name: "search", Delta: `{"q":`}, a),
		src.New(event.ToolCallDelta{CallID: "c1", Offset: 5, Delta: `"go"}`}, a),
		src.New(event.BlockStarted{Index: 1, Kind: "tool_use", ID: "c1"}, a),
		src.New(event.TextDelta{Text: "unfinished"}, a),
	}
	var out bytes.Buffer
	p := must(printer.Text(&out))
	publishAll(t, p, evs)
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(); err != nil { // nothing left to end
		t.Fatal(err)
	}
	want := `Hello 
Bonjour 
world
agent.status status=thinking
le monde!
Second line
tool.call.delta search: {"q":"go"}
message.block.started index=1 kind=tool_use id=c1
unfinished
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestTextGeneric(t *testing.T) {
	src := source()
	long := strings.Repeat("é", 300)
	evs := []event.Event{
		src.New(event.ToolCallFailed{CallID: "c1", Name: "fetch", Error: event.Error{Message: "timed out", Kind: "deadline"}}, event.Meta{}),
		src.New(event.ProviderCallFailed{Provider: "openai", Model: "gpt", Error: event.Error{Message: "boom"}, Duration: 1500000}, event.Meta{}),
		src.New(event.CompositionCompleted{Composition: "flow", Error: event.Error{Message: "step 2 failed"}}, event.Meta{}),
		src.New(event.UsageReported{Usage: event.Usage{InputTokens: 5, OutputTokens: 7, Cumulative: true}}, event.Meta{}),
		src.New(event.RunCompleted{}, event.Meta{}),
		src.New(event.Info{Message: "x=1", Data: []byte(`{"a": [1, 2]}`)}, event.Meta{}),
		src.New(event.Raw{Name: "myapp.list", Data: []byte(`[1, 2, 3]`)}, event.Meta{}),
		src.New(event.Raw{Name: "myapp.text", Data: []byte(`"` + long + `"`)}, event.Meta{}),
		src.New(event.Log{Level: "info", Message: long}, event.Meta{}),
		{Type: "myapp.nopayload"},
	}
	var out bytes.Buffer
	publishAll(t, must(printer.Text(&out)), evs)
	cut := strings.Repeat("é", 256) + "…"
	want := `ERROR tool.call.failed fetch call_id=c1: timed out (deadline)
ERROR provider.call.failed provider=openai model=gpt error=boom duration=1.5ms
ERROR composition.completed composition=flow error="step 2 failed"
message.usage input=5 output=7 (totals so far)
run.completed
agent.info message="x=1" data={"a":[1,2]}
myapp.list [1,2,3]
myapp.text "` + strings.Repeat("é", 255) + `…(+91 bytes)
agent.log level=info message="` + cut + `(+88 bytes)"
myapp.nopayload
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestTextConcurrent(t *testing.T) {
	var out lockedBuffer
	p := must(printer.Text(&out))
	const goroutines, deltas = 16, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			src := source()
			meta := event.Meta{SessionID: fmt.Sprintf("s%02d", g)}
			token := fmt.Sprintf("g%02d ", g)
			for i := range deltas {
				var ev event.Event
				switch i % 50 {
				case 49:
					ev = src.New(event.Status{Status: "working"}, meta)
				case 25:
					ev = src.New(event.ThinkingDelta{Text: token}, meta)
				default:
					ev = src.New(event.TextDelta{Text: token}, meta)
				}
				if err := p.Publish(context.Background(), &ev); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.HasSuffix(text, "\n") {
		t.Fatal("output does not end with a newline")
	}
	counts := map[string]int{}
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if line == "agent.status status=working" {
			continue
		}
		line = strings.TrimPrefix(line, "thinking: ")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			t.Fatalf("empty line in output")
		}
		for _, f := range fields {
			if f != fields[0] {
				t.Fatalf("line mixes streams: %q", line)
			}
		}
		counts[fields[0]] += len(fields)
	}
	for g := range goroutines {
		if n := counts[fmt.Sprintf("g%02d", g)]; n != deltas-deltas/50 {
			t.Errorf("goroutine %d: %d tokens printed, want %d", g, n, deltas-deltas/50)
		}
	}
}

// lockedBuffer is a bytes.Buffer that the race detector can watch: the
// printers must serialize their writes, so it only checks, never locks.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	if !b.mu.TryLock() {
		panic("concurrent Write")
	}
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string { return b.buf.String() }

var errBoom = errors.New("boom")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errBoom }

func TestWriteError(t *testing.T) {
	evs := script()
	for name, s := range map[string]sluice.Sink{
		"text": must(printer.Text(failWriter{})),
		"json": must(printer.JSON(failWriter{})),
		"yaml": must(printer.YAML(failWriter{})),
	} {
		for i := range evs {
			err := s.Publish(context.Background(), &evs[i])
			if name == "text" && (evs[i].Type == event.TypeBlockStarted || evs[i].Type == event.TypeBlockStopped ||
				evs[i].Type == event.TypeThinkingCompleted || evs[i].Type == event.TypeTextCompleted) {
				continue // nothing to write
			}
			if !errors.Is(err, errBoom) {
				t.Errorf("%s: Publish(%s) = %v, want %v", name, evs[i].Type, err, errBoom)
			}
		}
	}
	if err := must(printer.Text(failWriter{})).Flush(); err != nil {
		t.Errorf("Flush with nothing to write = %v", err)
	}
}

func TestNilEvent(t *testing.T) {
	for _, s := range []sluice.Sink{must(printer.Text(&bytes.Buffer{})), must(printer.JSON(&bytes.Buffer{})), must(printer.YAML(&bytes.Buffer{}))} {
		if err := s.Publish(context.Background(), nil); err == nil {
			t.Errorf("%T: Publish(nil) = nil, want an error", s)
		}
	}
}

// TestTextControlCharacters checks that text from models, providers and
// decoded events cannot drive the terminal: control characters other than
// newline and tab come out as visible escapes, with colors on or off, and
// the only escape sequences written are the printer's own colors.
func TestTextControlCharacters(t *testing.T) {
	src := source()
	const evil = "a\x1b]0;pwned\x07b\x1b[2J\x1b]52;c;Zm9v\x07c\rd\x00e\x7ff\u009bg\xffh\u0085i\tj"
	const shown = `a\x1b]0;pwned\x07b\x1b[2J\x1b]52;c;Zm9v\x07c\x0dd\x00e\x7ff\u009bg\xffh\u0085i` + "\tj"
	evs := []event.Event{
		src.New(event.TextDelta{Text: evil + "\n" + evil}, event.Meta{}),
		src.New(event.ThinkingDelta{Text: evil}, event.Meta{}),
		src.New(event.ToolCallDelta{CallID: "c1", Name: "x", Delta: evil}, event.Meta{}),
		src.New(event.TextCompleted{Index: 1, Text: evil}, event.Meta{}),
		src.New(event.StreamError{Error: event.Error{Code: "e", Message: evil, Kind: evil}}, event.Meta{}),
		src.New(event.ToolCallCompleted{CallID: "c1", Name: "x", Result: []byte(`{"k":"\u001b[2J\u009b` + "\u0085" + `"}`)}, event.Meta{}),
		src.New(event.Raw{Name: "myapp.raw", Data: []byte(`{"\u001b[2Jkey":"v","n":1}`)}, event.Meta{}),
		src.New(event.Raw{Name: "myapp.bad", Data: []byte("not json \x1b[2J")}, event.Meta{}),
		{Type: event.Type("myapp.\x1b]0;t\x07"), Payload: event.Raw{Name: "x", Data: []byte(`{}`)}},
		{Type: event.Type("myapp.\x1b[2J.failed"), Payload: event.Raw{Name: "x", Data: []byte(`{}`)}},
	}
	evs[0].Meta.Labels = map[string]string{"k\x1b[2J": "v\x1b[2J"}
	for _, color := range []bool{false, true} {
		var out bytes.Buffer
		publishAll(t, must(printer.Text(&out, printer.WithColor(color), printer.WithMeta(true))), evs)
		got := out.String()
		// Take the printer's own color sequences out: no ESC may remain,
		// nor any other control but newline and tab.
		rest := got
		for _, seq := range []string{"\x1b[0m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m"} {
			rest = strings.ReplaceAll(rest, seq, "")
		}
		for i, r := range rest {
			if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) || (r == 0xfffd && rest[i] == 0xff) {
				t.Errorf("color=%v: control character %U at %d reaches the terminal:\n%q", color, r, i, got)
				break
			}
		}
		if !strings.Contains(rest, shown) {
			t.Errorf("color=%v: model text not shown as %q:\n%q", color, shown, got)
		}
		for _, want := range []string{`myapp.\x1b]0;t\x07`, `ERROR myapp.\x1b[2J.failed`, `label.k\x1b[2J=`, `\x1b[2Jkey=v`, `not json \x1b[2J`} {
			if !strings.Contains(rest, want) {
				t.Errorf("color=%v: output lacks %q:\n%q", color, want, got)
			}
		}
	}
	// Plain text, newlines and tabs, and non-ASCII text are left alone.
	var out bytes.Buffer
	publishAll(t, must(printer.Text(&out)), []event.Event{src.New(event.TextCompleted{Text: "héllo\tworld 日本\nline ✓"}, event.Meta{})})
	if got, want := out.String(), "héllo\tworld 日本\nline ✓\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestInvalidArguments(t *testing.T) {
	type ctor func(io.Writer, ...printer.Option) error
	ctors := map[string]ctor{
		"text": func(w io.Writer, o ...printer.Option) error { _, err := printer.Text(w, o...); return err },
		"json": func(w io.Writer, o ...printer.Option) error { _, err := printer.JSON(w, o...); return err },
		"yaml": func(w io.Writer, o ...printer.Option) error { _, err := printer.YAML(w, o...); return err },
	}
	for name, f := range ctors {
		if err := f(nil); !errors.Is(err, printer.ErrInvalid) {
			t.Errorf("%s with a nil writer: %v, want ErrInvalid", name, err)
		}
		if err := f(io.Discard, printer.WithMeta(true), nil); !errors.Is(err, printer.ErrInvalid) {
			t.Errorf("%s with a nil option: %v, want ErrInvalid", name, err)
		}
		if err := f(io.Discard, printer.WithColor(true), printer.WithThinking(false)); err != nil {
			t.Errorf("%s with valid options: %v", name, err)
		}
	}
}
