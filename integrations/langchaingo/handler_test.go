package sluicelangchain_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/tmc/langchaingo/agents"
	"github.com/tmc/langchaingo/callbacks"
	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/prompts"
	"github.com/tmc/langchaingo/schema"
	"github.com/tmc/langchaingo/tools"
	"github.com/tmc/langchaingo/vectorstores"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	sluicelangchain "github.com/sluice-events/sluice/integrations/langchaingo"
	"github.com/sluice-events/sluice/internal/recorder"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scripted is an llms.Model that answers from a script, the way
// langchaingo's provider models behave: it reports its start and end to
// its CallbacksHandler, and streams its answer in pieces through the call's
// StreamingFunc when there is one.
type scripted struct {
	CallbacksHandler callbacks.Handler

	mu      sync.Mutex
	replies []string
	usage   map[string]any
}

var _ llms.Model = (*scripted)(nil)

func (s *scripted) GenerateContent(ctx context.Context, ms []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	var opts llms.CallOptions
	for _, o := range options {
		o(&opts)
	}
	if s.CallbacksHandler != nil {
		s.CallbacksHandler.HandleLLMGenerateContentStart(ctx, ms)
	}
	s.mu.Lock()
	if len(s.replies) == 0 {
		s.mu.Unlock()
		err := errors.New("scripted: no more replies")
		if s.CallbacksHandler != nil {
			s.CallbacksHandler.HandleLLMError(ctx, err)
		}
		return nil, err
	}
	reply := s.replies[0]
	s.replies = s.replies[1:]
	s.mu.Unlock()
	if opts.StreamingFunc != nil {
		for rest := reply; rest != ""; {
			n := min(4, len(rest))
			if err := opts.StreamingFunc(ctx, []byte(rest[:n])); err != nil {
				return nil, err
			}
			rest = rest[n:]
		}
	}
	res := &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: reply, StopReason: "stop", GenerationInfo: s.usage}}}
	if s.CallbacksHandler != nil {
		s.CallbacksHandler.HandleLLMGenerateContentEnd(ctx, res)
	}
	return res, nil
}

func (s *scripted) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, s, prompt, options...)
}

// types lists the types of rec's events.
func types(rec *recorder.Sink) string {
	var s []string
	for _, ev := range rec.All() {
		s = append(s, string(ev.Type))
	}
	return strings.Join(s, " ")
}

func span(ev event.Event) string { return ev.Meta.Labels[sluicelangchain.SpanLabel] }

func newHandler(t testing.TB) *sluicelangchain.Handler {
	t.Helper()
	h, err := sluicelangchain.NewHandler(sluicelangchain.WithProvider("scripted"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func withTurn(rec *recorder.Sink, turn string) context.Context {
	em := sluice.NewEmitter(rec, event.Meta{RunID: "run-1", SessionID: "s-1"}).Turn(turn)
	return sluice.WithEmitter(context.Background(), em)
}

func TestLLMChainStreams(t *testing.T) {
	rec := recorder.New()
	h := newHandler(t)
	llm := &scripted{CallbacksHandler: h, replies: []string{"The capital is Paris."},
		usage: map[string]any{"PromptTokens": 12, "CompletionTokens": 5, "TotalTokens": 17}}
	chain := chains.NewLLMChain(llm, prompts.NewPromptTemplate("Capital of {{.country}}?", []string{"country"}), chains.WithCallback(h))
	out, err := chains.Run(withTurn(rec, "turn-1"), chain, "France", chains.WithCallback(h))
	if err != nil {
		t.Fatal(err)
	}
	if out != "The capital is Paris." {
		t.Fatalf("out = %q", out)
	}
	want := "composition.started provider.call.started" + strings.Repeat(" message.text.delta", 6) +
		" message.text.completed message.usage provider.call.completed composition.completed"
	if got := types(rec); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	evs := rec.All()
	chainEv, call := evs[0], evs[1]
	if chainEv.Meta.ParentID != "turn-1" || chainEv.Meta.TurnID != "turn-1" || chainEv.Meta.RunID != "run-1" {
		t.Errorf("chain meta %+v", chainEv.Meta)
	}
	if in := string(chainEv.Payload.(event.CompositionStarted).Input); in != `{"country":"France"}` {
		t.Errorf("chain input %s", in)
	}
	if call.Meta.ParentID != span(chainEv) || call.Meta.InferenceID == "" || call.Meta.InferenceID != span(call) {
		t.Errorf("call meta %+v, want parent %s", call.Meta, span(chainEv))
	}
	var text strings.Builder
	var offset int64
	for _, ev := range rec.Of(event.TypeTextDelta) {
		d := ev.Payload.(event.TextDelta)
		if d.Offset != offset || ev.Meta.InferenceID != call.Meta.InferenceID {
			t.Errorf("delta %+v meta %+v", d, ev.Meta)
		}
		offset += int64(len(d.Text))
		text.WriteString(d.Text)
	}
	if text.String() != out {
		t.Errorf("deltas %q", text.String())
	}
	done := rec.Of(event.TypeProviderCallCompleted)[0].Payload.(event.ProviderCallCompleted)
	if done.Provider != "scripted" || done.Usage.TotalTokens != 17 || done.FinishReason != "stop" || done.Duration <= 0 {
		t.Errorf("provider.call.completed %+v", done)
	}
	end := rec.Of(event.TypeCompositionCompleted)[0].Payload.(event.CompositionCompleted)
	if !strings.Contains(string(end.Output), "Paris") || end.Duration <= 0 {
		t.Errorf("composition.completed %+v", end)
	}
}

// An agent executor runs its LLM chain twice and a tool once: the chains
// nest, each model call has its own ID, and the tool's events carry the
// action's call ID under the executor's chain.
func TestAgentExecutor(t *testing.T) {
	rec := recorder.New()
	h := newHandler(t)
	llm := &scripted{CallbacksHandler: h, replies: []string{
		"I should compute it.\nAction: calculator\nAction Input: 6*7",
		"I now know the final answer.\nFinal Answer: 42",
	}}
	agent := agents.NewOneShotAgent(llm, []tools.Tool{tools.Calculator{CallbacksHandler: h}}, agents.WithCallbacksHandler(h))
	exec := agents.NewExecutor(agent, agents.WithCallbacksHandler(h))
	out, err := chains.Run(withTurn(rec, "turn-1"), exec, "what is 6 times 7?")
	if err != nil {
		t.Fatal(err)
	}
	if out != "42" {
		t.Fatalf("out = %q", out)
	}
	comps := rec.Of(event.TypeCompositionStarted)
	if len(comps) != 3 {
		t.Fatalf("%d chains, want the executor and two LLM chains: %s", len(comps), types(rec))
	}
	outer := comps[0]
	for _, c := range comps[1:] {
		if c.Meta.ParentID != span(outer) {
			t.Errorf("inner chain's parent %q, want the executor %q", c.Meta.ParentID, span(outer))
		}
	}
	calls := rec.Of(event.TypeProviderCallStarted)
	if len(calls) != 2 || calls[0].Meta.InferenceID == calls[1].Meta.InferenceID {
		t.Fatalf("model calls %+v", calls)
	}
	if calls[0].Meta.ParentID != span(comps[1]) || calls[1].Meta.ParentID != span(comps[2]) {
		t.Errorf("model calls' parents %q %q, want their LLM chains", calls[0].Meta.ParentID, calls[1].Meta.ParentID)
	}
	req := rec.Of(event.TypeToolCallRequested)
	if len(req) != 1 {
		t.Fatalf("tool.call.requested %+v", req)
	}
	r := req[0].Payload.(event.ToolCallRequested)
	if r.Name != "calculator" || string(r.Arguments) != `"6*7"` || r.CallID == "" || req[0].Meta.ParentID != span(outer) {
		t.Errorf("tool.call.requested %+v meta %+v", r, req[0].Meta)
	}
	st, done := rec.Of(event.TypeToolCallStarted), rec.Of(event.TypeToolCallCompleted)
	if len(st) != 1 || len(done) != 1 {
		t.Fatalf("tool events: %s", types(rec))
	}
	if s := st[0].Payload.(event.ToolCallStarted); s.CallID != r.CallID || s.Name != "calculator" || st[0].Meta.ToolCallID != r.CallID {
		t.Errorf("tool.call.started %+v", s)
	}
	if d := done[0].Payload.(event.ToolCallCompleted); string(d.Result) != "42" || d.CallID != r.CallID || d.Duration <= 0 {
		t.Errorf("tool.call.completed %+v", d)
	}
	// The executor's chain ends last, with the answer.
	all := rec.All()
	last := all[len(all)-1]
	if last.Type != event.TypeCompositionCompleted || span(last) != span(outer) || !strings.Contains(string(last.Payload.(event.CompositionCompleted).Output), "42") {
		t.Errorf("last event %s %+v", last.Type, last.Payload)
	}
}

// failingTool reports its failure to its callbacks handler, as a tool
// written against langchaingo's callbacks does.
type failingTool struct{ h callbacks.Handler }

func (failingTool) Name() string        { return "flaky" }
func (failingTool) Description() string { return "always fails" }
func (f failingTool) Call(ctx context.Context, input string) (string, error) {
	f.h.HandleToolStart(ctx, input)
	err := errors.New("service unavailable")
	f.h.HandleToolError(ctx, err)
	return "", err
}

func TestFailures(t *testing.T) {
	rec := recorder.New()
	h := newHandler(t)
	llm := &scripted{CallbacksHandler: h, replies: []string{"Action: flaky\nAction Input: x"}}
	agent := agents.NewOneShotAgent(llm, []tools.Tool{failingTool{h}}, agents.WithCallbacksHandler(h))
	exec := agents.NewExecutor(agent, agents.WithCallbacksHandler(h))
	if _, err := chains.Run(withTurn(rec, "turn-1"), exec, "go"); err == nil {
		t.Fatal("no error")
	}
	f := rec.Of(event.TypeToolCallFailed)
	if len(f) != 1 || f[0].Payload.(event.ToolCallFailed).Name != "flaky" || !strings.Contains(f[0].Payload.(event.ToolCallFailed).Error.Message, "service unavailable") {
		t.Fatalf("tool.call.failed %+v", f)
	}
	c := rec.Of(event.TypeCompositionCompleted)
	if len(c) != 2 || !strings.Contains(c[1].Payload.(event.CompositionCompleted).Error.Message, "service unavailable") {
		t.Fatalf("executor's composition.completed %+v", c)
	}

	// A model that fails.
	rec2 := recorder.New()
	_, err := llms.GenerateFromSinglePrompt(withTurn(rec2, "turn-2"), &scripted{CallbacksHandler: h}, "hi")
	if err == nil {
		t.Fatal("no error")
	}
	if got := types(rec2); got != "provider.call.started provider.call.failed" {
		t.Fatalf("events %s", got)
	}
	if p := rec2.All()[1]; p.Meta.ParentID != "turn-2" {
		t.Errorf("failed call's parent %q", p.Meta.ParentID)
	}
}

// Concurrent runs with emitters of their own keep their scopes apart.
func TestConcurrentRuns(t *testing.T) {
	h := newHandler(t)
	var wg sync.WaitGroup
	recs := make([]*recorder.Sink, 8)
	for i := range recs {
		recs[i] = recorder.New()
		wg.Add(1)
		go func() {
			defer wg.Done()
			llm := &scripted{CallbacksHandler: h, replies: []string{"answer number " + string(rune('a'+i))}}
			chain := chains.NewLLMChain(llm, prompts.NewPromptTemplate("{{.q}}", []string{"q"}), chains.WithCallback(h))
			if _, err := chains.Run(withTurn(recs[i], "turn"), chain, "q", chains.WithCallback(h)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, rec := range recs {
		var text strings.Builder
		for _, ev := range rec.Of(event.TypeTextDelta) {
			text.WriteString(ev.Payload.(event.TextDelta).Text)
		}
		if want := "answer number " + string(rune('a'+i)); text.String() != want {
			t.Errorf("run %d streamed %q, want %q", i, text.String(), want)
		}
		if n := len(rec.Of(event.TypeCompositionCompleted)); n != 1 {
			t.Errorf("run %d: %d chains ended", i, n)
		}
	}
}

// fakeStore is a vector store that finds the documents it was given.
type fakeStore struct{ docs []schema.Document }

func (s fakeStore) AddDocuments(context.Context, []schema.Document, ...vectorstores.Option) ([]string, error) {
	return nil, nil
}

func (s fakeStore) SimilaritySearch(context.Context, string, int, ...vectorstores.Option) ([]schema.Document, error) {
	return s.docs, nil
}

func TestRetriever(t *testing.T) {
	rec := recorder.New()
	r := vectorstores.ToRetriever(fakeStore{docs: []schema.Document{{PageContent: "Paris is the capital of France."}}}, 1)
	r.CallbacksHandler = newHandler(t)
	docs, err := r.GetRelevantDocuments(withTurn(rec, "turn-1"), "capital of France")
	if err != nil || len(docs) != 1 {
		t.Fatal(docs, err)
	}
	if got := types(rec); got != "composition.step.started composition.step.completed" {
		t.Fatalf("events %s", got)
	}
	evs := rec.All()
	if in := string(evs[0].Payload.(event.CompositionStepStarted).Input); in != `{"query":"capital of France"}` {
		t.Errorf("input %s", in)
	}
	if out := string(evs[1].Payload.(event.CompositionStepCompleted).Output); !strings.Contains(out, "Paris is the capital") {
		t.Errorf("output %s", out)
	}
	if evs[0].Meta.ParentID != "turn-1" || span(evs[0]) != span(evs[1]) {
		t.Errorf("meta %+v %+v", evs[0].Meta, evs[1].Meta)
	}
}

func TestNoEmitterAndOptions(t *testing.T) {
	h := newHandler(t)
	llm := &scripted{CallbacksHandler: h, replies: []string{"ok"}}
	if _, err := llms.GenerateFromSinglePrompt(context.Background(), llm, "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := sluicelangchain.NewHandler(sluicelangchain.WithProvider("")); !errors.Is(err, sluicelangchain.ErrInvalid) {
		t.Errorf("empty provider: %v", err)
	}
	if _, err := sluicelangchain.NewHandler(nil); !errors.Is(err, sluicelangchain.ErrInvalid) {
		t.Errorf("nil option: %v", err)
	}
}
