package sluiceeino_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/components/tool/utils"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/flow/agent"
	"github.com/cloudwego/eino/flow/agent/react"
	"github.com/cloudwego/eino/schema"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	sluiceeino "github.com/sluice-events/sluice/integrations/eino"
	"github.com/sluice-events/sluice/internal/recorder"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scripted is a chat model that answers from a script, one reply per
// call, and streams each reply in pieces of a few bytes, the way a real
// model's stream arrives: from a goroutine, through a pipe.
type scripted struct {
	mu      sync.Mutex
	replies []*schema.Message
	calls   int
}

var _ model.ToolCallingChatModel = (*scripted)(nil)

func (s *scripted) next() (*schema.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls >= len(s.replies) {
		return nil, errors.New("scripted: no more replies")
	}
	m := s.replies[s.calls]
	s.calls++
	return m, nil
}

func (s *scripted) Generate(ctx context.Context, in []*schema.Message, _ ...model.Option) (*schema.Message, error) {
	return s.next()
}

func (s *scripted) Stream(ctx context.Context, in []*schema.Message, _ ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	m, err := s.next()
	if err != nil {
		return nil, err
	}
	sr, sw := schema.Pipe[*schema.Message](1)
	go func() {
		defer sw.Close()
		for _, p := range pieces(m.ReasoningContent) {
			if sw.Send(&schema.Message{Role: schema.Assistant, ReasoningContent: p}, nil) {
				return
			}
		}
		for _, p := range pieces(m.Content) {
			if sw.Send(&schema.Message{Role: schema.Assistant, Content: p}, nil) {
				return
			}
		}
		last := &schema.Message{Role: schema.Assistant, ToolCalls: m.ToolCalls, ResponseMeta: m.ResponseMeta}
		sw.Send(last, nil)
	}()
	return sr, nil
}

func (s *scripted) WithTools([]*schema.ToolInfo) (model.ToolCallingChatModel, error) { return s, nil }

func pieces(s string) []string {
	var out []string
	for len(s) > 3 {
		out = append(out, s[:3])
		s = s[3:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

func newCtx(rec *recorder.Sink) context.Context {
	em := sluice.NewEmitter(rec, event.Meta{RunID: "run-1", SessionID: "s-1"}).Turn("turn-1")
	return sluice.WithEmitter(context.Background(), em)
}

func span(ev event.Event) string { return ev.Meta.Labels[sluiceeino.SpanLabel] }

func chain(t testing.TB, m model.BaseChatModel) compose.Runnable[string, *schema.Message] {
	t.Helper()
	toMessages := compose.InvokableLambda(func(ctx context.Context, q string) ([]*schema.Message, error) {
		return []*schema.Message{schema.UserMessage(q)}, nil
	})
	r, err := compose.NewChain[string, *schema.Message]().
		AppendLambda(toMessages, compose.WithNodeName("prompt")).
		AppendChatModel(m, compose.WithNodeName("model")).
		Compile(context.Background(), compose.WithGraphName("qa"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestChainInvokeParents(t *testing.T) {
	rec := recorder.New()
	m := &scripted{replies: []*schema.Message{{Role: schema.Assistant, Content: "Paris.",
		ResponseMeta: &schema.ResponseMeta{FinishReason: "stop", Usage: &schema.TokenUsage{PromptTokens: 7, CompletionTokens: 2, TotalTokens: 9}}}}}
	out, err := chain(t, m).Invoke(newCtx(rec), "capital of France?", compose.WithCallbacks(handler(t, sluiceeino.WithProvider("scripted"))))
	if err != nil {
		t.Fatal(err)
	}
	if out.Content != "Paris." {
		t.Fatalf("out = %q", out.Content)
	}
	var types []string
	for _, ev := range rec.All() {
		types = append(types, string(ev.Type))
	}
	want := "composition.started composition.step.started composition.step.completed provider.call.started message.text.completed message.usage provider.call.completed composition.completed"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	evs := rec.All()
	graph, step, call := evs[0], evs[1], evs[3]
	if graph.Meta.ParentID != "turn-1" || graph.Meta.RunID != "run-1" || graph.Meta.TurnID != "turn-1" {
		t.Errorf("graph meta = %+v, want parent turn-1 in run-1", graph.Meta)
	}
	if graph.Payload.(event.CompositionStarted).Composition != "qa" {
		t.Errorf("composition = %+v", graph.Payload)
	}
	if step.Meta.ParentID != span(graph) || call.Meta.ParentID != span(graph) {
		t.Errorf("step parent %q, call parent %q, want the graph's span %q", step.Meta.ParentID, call.Meta.ParentID, span(graph))
	}
	if st := step.Payload.(event.CompositionStepStarted); st.StepID != "prompt" || st.Kind != "Lambda" || string(st.Input) != `"capital of France?"` {
		t.Errorf("step = %+v", st)
	}
	if call.Meta.InferenceID == "" || call.Meta.InferenceID != span(call) {
		t.Errorf("inference ID %q, span %q", call.Meta.InferenceID, span(call))
	}
	if p := call.Payload.(event.ProviderCallStarted); p.Provider != "scripted" || p.MessageCount != 1 {
		t.Errorf("provider.call.started = %+v", p)
	}
	done := rec.Of(event.TypeProviderCallCompleted)[0]
	if p := done.Payload.(event.ProviderCallCompleted); p.Usage.TotalTokens != 9 || p.FinishReason != "stop" || p.Duration <= 0 {
		t.Errorf("provider.call.completed = %+v", p)
	}
	if done.Meta.InferenceID != call.Meta.InferenceID {
		t.Error("completed and started differ in inference")
	}
	end := rec.Of(event.TypeCompositionCompleted)[0].Payload.(event.CompositionCompleted)
	if end.Duration <= 0 || !end.Error.IsZero() || !strings.Contains(string(end.Output), "Paris.") {
		t.Errorf("composition.completed = %+v", end)
	}
}

func TestChainStreamDeltas(t *testing.T) {
	rec := recorder.New()
	m := &scripted{replies: []*schema.Message{{Role: schema.Assistant, ReasoningContent: "The user asks about France.", Content: "The capital is Paris."}}}
	sr, err := chain(t, m).Stream(newCtx(rec), "capital of France?", compose.WithCallbacks(handler(t)))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(sr)
	if got != "The capital is Paris." {
		t.Fatalf("stream = %q", got)
	}
	rec.WaitFor(t, event.TypeProviderCallCompleted, 1)
	rec.WaitFor(t, event.TypeCompositionCompleted, 1)
	var text, thinking strings.Builder
	var offset int64
	for _, ev := range rec.Of(event.TypeTextDelta) {
		d := ev.Payload.(event.TextDelta)
		if d.Offset != offset {
			t.Errorf("delta offset %d, want %d", d.Offset, offset)
		}
		offset += int64(len(d.Text))
		text.WriteString(d.Text)
	}
	for _, ev := range rec.Of(event.TypeThinkingDelta) {
		thinking.WriteString(ev.Payload.(event.ThinkingDelta).Text)
	}
	if text.String() != "The capital is Paris." || thinking.String() != "The user asks about France." {
		t.Errorf("deltas: text %q, thinking %q", text.String(), thinking.String())
	}
	if n := len(rec.Of(event.TypeTextDelta)); n < 2 {
		t.Errorf("%d text deltas, want the stream's pieces", n)
	}
	if tc := rec.Of(event.TypeTextCompleted); len(tc) != 1 || tc[0].Payload.(event.TextCompleted).Text != "The capital is Paris." {
		t.Errorf("text.completed = %+v", tc)
	}
	call := rec.Of(event.TypeProviderCallStarted)[0]
	for _, ev := range rec.Of(event.TypeTextDelta) {
		if ev.Meta.InferenceID != call.Meta.InferenceID || ev.Meta.ParentID != call.Meta.ParentID {
			t.Fatalf("delta meta %+v, want the call's %+v", ev.Meta, call.Meta)
		}
	}
	// goleak (TestMain) checks that the handler's stream readers ended.
}

type weatherArgs struct {
	City string `json:"city"`
}

func weatherTool(t *testing.T, fail bool) tool.InvokableTool {
	t.Helper()
	tl, err := utils.InferTool("weather", "the weather in a city", func(ctx context.Context, a weatherArgs) (string, error) {
		if fail {
			return "", errors.New("weather service down")
		}
		return "sunny in " + a.City, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func toolCall(id, city string) []schema.ToolCall {
	return []schema.ToolCall{{ID: id, Type: "function", Function: schema.FunctionCall{Name: "weather", Arguments: `{"city":"` + city + `"}`}}}
}

// A ReAct agent runs its model node twice in one graph: each run is its own
// inference, with its own ID, under the same graph run; the tool call
// carries the model's call ID and sits under the tools node.
func TestAgentRepeatedRunsGetOwnIDs(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "generate", true: "stream"}[stream], func(t *testing.T) {
			rec := recorder.New()
			m := &scripted{replies: []*schema.Message{
				{Role: schema.Assistant, ToolCalls: toolCall("call-1", "Paris")},
				{Role: schema.Assistant, Content: "It is sunny in Paris."},
			}}
			a, err := react.NewAgent(context.Background(), &react.AgentConfig{ToolCallingModel: m,
				ToolsConfig: compose.ToolsNodeConfig{Tools: []tool.BaseTool{weatherTool(t, false)}}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, opt := newCtx(rec), agent.WithComposeOptions(compose.WithCallbacks(handler(t)))
			in := []*schema.Message{schema.UserMessage("weather in Paris?")}
			if stream {
				sr, err := a.Stream(ctx, in, opt)
				if err != nil {
					t.Fatal(err)
				}
				readAll(sr)
			} else if _, err := a.Generate(ctx, in, opt); err != nil {
				t.Fatal(err)
			}
			starts := rec.WaitFor(t, event.TypeProviderCallStarted, 2)
			dones := rec.WaitFor(t, event.TypeProviderCallCompleted, 2)
			rec.WaitFor(t, event.TypeCompositionCompleted, 1)
			graph := rec.Of(event.TypeCompositionStarted)[0]
			if starts[0].Meta.InferenceID == starts[1].Meta.InferenceID {
				t.Fatal("the model's two runs share an inference ID")
			}
			for _, s := range starts {
				if s.Meta.ParentID != span(graph) {
					t.Errorf("model run parent %q, want graph %q", s.Meta.ParentID, span(graph))
				}
			}
			byInference := map[string]event.Event{}
			for _, d := range dones {
				byInference[d.Meta.InferenceID] = d
			}
			if byInference[starts[0].Meta.InferenceID].Payload.(event.ProviderCallCompleted).ToolCallCount != 1 {
				t.Errorf("first run's completion: %+v", byInference[starts[0].Meta.InferenceID].Payload)
			}
			req := rec.Of(event.TypeToolCallRequested)
			if len(req) != 1 || req[0].Payload.(event.ToolCallRequested).CallID != "call-1" || req[0].Meta.InferenceID != starts[0].Meta.InferenceID {
				t.Fatalf("tool.call.requested = %+v", req)
			}
			ts := rec.Of(event.TypeToolCallStarted)
			tc := rec.WaitFor(t, event.TypeToolCallCompleted, 1)
			if len(ts) != 1 || ts[0].Meta.ToolCallID != "call-1" || ts[0].Payload.(event.ToolCallStarted).Name != "weather" ||
				string(ts[0].Payload.(event.ToolCallStarted).Arguments) != `{"city":"Paris"}` {
				t.Fatalf("tool.call.started = %+v", ts)
			}
			if r := tc[0].Payload.(event.ToolCallCompleted); string(r.Result) != `"sunny in Paris"` || r.CallID != "call-1" {
				t.Errorf("tool.call.completed = %+v", r)
			}
			// The tool runs inside the tools node, which runs inside the graph.
			var toolsNode event.Event
			for _, ev := range rec.Of(event.TypeCompositionStepStarted) {
				if span(ev) == ts[0].Meta.ParentID {
					toolsNode = ev
				}
			}
			if toolsNode.Type == "" || toolsNode.Meta.ParentID != span(graph) {
				t.Errorf("tool's parent %q is not a step of the graph (%+v)", ts[0].Meta.ParentID, toolsNode)
			}
			if stream {
				var text strings.Builder
				for _, ev := range rec.Of(event.TypeTextDelta) {
					text.WriteString(ev.Payload.(event.TextDelta).Text)
				}
				if text.String() != "It is sunny in Paris." {
					t.Errorf("streamed text %q", text.String())
				}
			}
		})
	}
}

func TestToolFailure(t *testing.T) {
	rec := recorder.New()
	m := &scripted{replies: []*schema.Message{{Role: schema.Assistant, ToolCalls: toolCall("call-9", "Oslo")}}}
	a, err := react.NewAgent(context.Background(), &react.AgentConfig{ToolCallingModel: m,
		ToolsConfig: compose.ToolsNodeConfig{Tools: []tool.BaseTool{weatherTool(t, true)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Generate(newCtx(rec), []*schema.Message{schema.UserMessage("weather in Oslo?")},
		agent.WithComposeOptions(compose.WithCallbacks(handler(t))))
	if err == nil {
		t.Fatal("the agent did not fail")
	}
	f := rec.Of(event.TypeToolCallFailed)
	if len(f) != 1 || f[0].Meta.ToolCallID != "call-9" || !strings.Contains(f[0].Payload.(event.ToolCallFailed).Error.Message, "weather service down") {
		t.Fatalf("tool.call.failed = %+v", f)
	}
	c := rec.Of(event.TypeCompositionCompleted)
	if len(c) != 1 || !strings.Contains(c[0].Payload.(event.CompositionCompleted).Error.Message, "weather service down") {
		t.Fatalf("composition.completed = %+v", c)
	}
}

func TestModelFailure(t *testing.T) {
	rec := recorder.New()
	m := &scripted{} // no replies: every call fails
	_, err := chain(t, m).Invoke(newCtx(rec), "q", compose.WithCallbacks(handler(t)))
	if err == nil {
		t.Fatal("no error")
	}
	f := rec.Of(event.TypeProviderCallFailed)
	if len(f) != 1 || !strings.Contains(f[0].Payload.(event.ProviderCallFailed).Error.Message, "no more replies") {
		t.Fatalf("provider.call.failed = %+v", f)
	}
}

// Without an emitter in the context the handler emits nothing and asks
// Eino for no stream copies (goleak checks no reader was left behind).
func TestNoEmitter(t *testing.T) {
	m := &scripted{replies: []*schema.Message{{Role: schema.Assistant, Content: "hello there"}}}
	sr, err := chain(t, m).Stream(context.Background(), "hi", compose.WithCallbacks(handler(t)))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(sr)
	if got != "hello there" {
		t.Fatalf("stream = %q", got)
	}
}

func handler(t testing.TB, opts ...sluiceeino.Option) *sluiceeino.Handler {
	t.Helper()
	h, err := sluiceeino.NewHandler(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestInvalidOptions(t *testing.T) {
	if _, err := sluiceeino.NewHandler(sluiceeino.WithProvider("")); !errors.Is(err, sluiceeino.ErrInvalid) {
		t.Errorf("empty provider: err = %v, want ErrInvalid", err)
	}
	if _, err := sluiceeino.NewHandler(nil); !errors.Is(err, sluiceeino.ErrInvalid) {
		t.Errorf("nil option: err = %v, want ErrInvalid", err)
	}
}

// readAll reads a stream to its end, closes it, and returns its text.
func readAll(sr *schema.StreamReader[*schema.Message]) string {
	defer sr.Close()
	var b strings.Builder
	for {
		msg, err := sr.Recv()
		if err != nil {
			return b.String()
		}
		b.WriteString(msg.Content)
	}
}
