package sluiceeino_test

import (
	"context"
	"testing"

	"github.com/cloudwego/eino/adk"
	"github.com/cloudwego/eino/callbacks"
	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorder"
)

// An ADK agent takes no callbacks option: the handler is installed as a
// global Eino handler, as Eino's documentation says for ADK. The agent's
// model runs twice (a tool call, then the answer), each run its own
// inference under the agent's graph, and the tool call sits between them.
func TestADKAgent(t *testing.T) {
	callbacks.AppendGlobalHandlers(handler(t))
	t.Cleanup(func() { callbacks.InitCallbackHandlers(nil) })

	for _, streaming := range []bool{false, true} {
		rec := recorder.New()
		m := &scripted{replies: []*schema.Message{
			{Role: schema.Assistant, ToolCalls: toolCall("call-7", "Rome")},
			{Role: schema.Assistant, Content: "It is sunny in Rome."},
		}}
		ctx := context.Background()
		a, err := adk.NewChatModelAgent(ctx, &adk.ChatModelAgentConfig{Name: "weather", Description: "tells the weather",
			Instruction: "Answer with the weather tool.", Model: m,
			ToolsConfig: adk.ToolsConfig{ToolsNodeConfig: compose.ToolsNodeConfig{Tools: []tool.BaseTool{weatherTool(t, false)}}}})
		if err != nil {
			t.Fatal(err)
		}
		it := adk.NewRunner(ctx, adk.RunnerConfig{Agent: a, EnableStreaming: streaming}).Query(newCtx(rec), "weather in Rome?")
		for {
			ev, ok := it.Next()
			if !ok {
				break
			}
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			if mo := ev.Output; mo != nil && mo.MessageOutput != nil && mo.MessageOutput.IsStreaming {
				mo.MessageOutput.MessageStream.Close()
			}
		}
		starts := rec.WaitFor(t, event.TypeProviderCallStarted, 2)
		rec.WaitFor(t, event.TypeProviderCallCompleted, 2)
		if starts[0].Meta.InferenceID == starts[1].Meta.InferenceID || starts[0].Meta.ParentID != starts[1].Meta.ParentID || starts[0].Meta.ParentID == "" {
			t.Errorf("streaming %v: model runs %+v and %+v", streaming, starts[0].Meta, starts[1].Meta)
		}
		var graph bool
		for _, c := range rec.Of(event.TypeCompositionStarted) {
			graph = graph || span(c) == starts[0].Meta.ParentID
		}
		if !graph {
			t.Errorf("streaming %v: the model runs' parent is not a graph run", streaming)
		}
		tc := rec.WaitFor(t, event.TypeToolCallCompleted, 1)
		if tc[0].Meta.ToolCallID != "call-7" || string(tc[0].Payload.(event.ToolCallCompleted).Result) != `"sunny in Rome"` {
			t.Errorf("streaming %v: tool.call.completed %+v", streaming, tc[0])
		}
	}
}
