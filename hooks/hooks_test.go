package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hooks"
	"github.com/sluice-events/sluice/instrument"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hookLog records hook calls in order.
type hookLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *hookLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf(format, args...))
}

func (l *hookLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.calls, "\n")
}

func hookAll(t *testing.T, h *hooks.Hooks, log *hookLog) {
	t.Helper()
	for _, err := range []error{
		h.OnSend(func(_ context.Context, m event.MessageCreated) { log.add("send %s", m.Content) }),
		h.OnResponse(func(_ context.Context, m event.MessageCreated) { log.add("response %s", m.Content) }),
		h.OnToolCall(func(_ context.Context, c event.ToolCallStarted) { log.add("tool call %s", c.Name) }),
		h.OnToolResult(func(_ context.Context, r event.ToolCallCompleted) { log.add("tool result %s", r.Result) }),
		h.OnError(func(_ context.Context, src event.Type, err event.Error) { log.add("error %s: %s", src, err.Message) }),
		h.OnChunk(func(_ context.Context, d event.TextDelta) { log.add("chunk %s", d.Text) }),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestHooksSeeOneConversationInOrder(t *testing.T) {
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	h := hooks.Conversation(b, "c1")
	log := &hookLog{}
	hookAll(t, h, log)

	ctx := context.Background()
	em := sluice.NewEmitter(b, event.Meta{ConversationID: "c1"})
	other := sluice.NewEmitter(b, event.Meta{ConversationID: "c2"})
	_ = sluice.Emit(ctx, em, event.MessageCreated{Role: "user", Content: "weather?"})
	_ = sluice.Emit(ctx, other, event.MessageCreated{Role: "user", Content: "not mine"})
	blk := em.TextBlock(0)
	_ = blk.Delta(ctx, "Let me ")
	_ = other.TextDelta(ctx, 0, 0, "nope")
	_ = blk.Delta(ctx, "check.")
	get := instrument.Tool("get_weather", func(context.Context, string) (string, error) { return "sunny", nil })
	tctx := sluice.WithEmitter(ctx, em)
	_, _ = get(instrument.WithToolCall(tctx, "t1"), "Paris")
	fail := instrument.Tool("fail", func(context.Context, string) (string, error) { return "", errors.New("no") })
	_, _ = fail(tctx, "x")
	_ = em.StreamError(ctx, errors.New("overloaded"))
	_ = em.ProviderCallFailed(ctx, "p", "m", 0, errors.New("overloaded"))
	_ = sluice.Emit(ctx, em, event.MessageCreated{Role: "assistant", Content: "Sunny."})
	_ = sluice.Emit(ctx, em, event.MessageCreated{Role: "tool", Content: "ignored"})

	want := strings.Join([]string{
		"send weather?",
		"chunk Let me ",
		"chunk check.",
		"tool call get_weather",
		`tool result "sunny"`,
		"tool call fail",
		"error tool.call.failed: no",
		"error stream.error: overloaded",
		"error provider.call.failed: overloaded",
		"response Sunny.",
	}, "\n")
	if got := log.String(); got != want {
		t.Errorf("hooks saw\n%s\nwant\n%s", got, want)
	}

	h.Close()
	_ = sluice.Emit(ctx, em, event.MessageCreated{Role: "user", Content: "after close"})
	if strings.Contains(log.String(), "after close") {
		t.Error("a hook ran after Close")
	}
	if err := h.OnSend(func(context.Context, event.MessageCreated) {}); !errors.Is(err, hooks.ErrClosed) {
		t.Errorf("OnSend after Close: %v", err)
	}
}

func TestHooksRunInThePublishersGoroutine(t *testing.T) {
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	h := hooks.Conversation(b, "c")
	defer h.Close()
	type key struct{}
	var seen []any
	_ = h.OnChunk(func(ctx context.Context, _ event.TextDelta) { seen = append(seen, ctx.Value(key{})) })
	ctx := context.WithValue(context.Background(), key{}, "publisher")
	em := sluice.NewEmitter(b, event.Meta{ConversationID: "c"})
	for range 3 {
		_ = em.TextDelta(ctx, 0, 0, "x")
		// Synchronous: the hook ran before Publish returned.
	}
	if len(seen) != 3 || seen[0] != "publisher" {
		t.Errorf("seen %v", seen)
	}
}

func TestPipelineFailureReachesOnError(t *testing.T) {
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	h := hooks.Conversation(b, "c")
	defer h.Close()
	var got []string
	_ = h.OnError(func(_ context.Context, src event.Type, err event.Error) {
		got = append(got, string(src)+": "+err.Message)
	})
	ctx := sluice.WithEmitter(context.Background(), sluice.NewEmitter(b, event.Meta{ConversationID: "c"}))
	p := instrument.NewPipeline(instrument.Stage[int]{Name: "s", Run: func(context.Context, int) error { return errors.New("bad") }})
	_ = p.Run(ctx, 0)
	if strings.Join(got, "|") != "pipeline.failed: bad" {
		t.Errorf("errors %v", got)
	}
}
