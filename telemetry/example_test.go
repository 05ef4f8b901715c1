package telemetry_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/telemetry"
)

// A run's events become a trace: the run's span, with a chat span for the
// provider call and an execute_tool span for the tool.
func ExampleNew() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	tel, _ := telemetry.New(telemetry.WithTracerProvider(tp), telemetry.WithAgentName("travel"))
	defer tel.Close(context.Background())

	ctx := context.Background()
	em := sluice.NewEmitter(tel, event.Meta{RunID: "run-1", ConversationID: "conv-1"})
	_ = sluice.Emit(ctx, em, event.RunStarted{})
	call := em.Inference("inf-1")
	_ = call.ProviderCallStarted(ctx, "openai", "gpt-5", 1, 1)
	_ = call.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: "openai", Model: "gpt-5",
		Usage: event.Usage{InputTokens: 120, OutputTokens: 30}, FinishReason: "tool_calls"})
	tool := em.ToolCall("call-1")
	_ = tool.ToolCallStarted(ctx, "call-1", "get_weather", nil)
	_ = tool.ToolCallCompleted(ctx, "call-1", "get_weather", 0, nil)
	_ = sluice.Emit(ctx, em, event.RunCompleted{})

	for _, s := range exp.GetSpans() {
		fmt.Println(s.Name, s.Parent.IsValid())
	}
	// Output:
	// chat gpt-5 true
	// execute_tool get_weather true
	// invoke_agent travel false
}
