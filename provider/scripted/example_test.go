package scripted_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
	sluiceanthropic "github.com/sluice-events/sluice/provider/anthropic"
	"github.com/sluice-events/sluice/provider/scripted"
)

// A whole agent loop without a network: the official Anthropic SDK talks
// to a local server that replays a recorded run, and the real adapter turns
// the streams into events. The first call asks for get_weather, the second
// answers with its result.
func Example_agentLoop() {
	// Speed(1) paces the replay as the model streamed it; 0 sends at once.
	srv := scripted.NewServer(scripted.WeatherAgent(), scripted.Speed(0))
	defer srv.Close()
	client := anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("scripted"), option.WithMaxRetries(0))

	show := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		switch p := ev.Payload.(type) {
		case event.ProviderCallStarted:
			fmt.Println(ev.Type, p.Model)
		case event.ThinkingCompleted:
			fmt.Printf("%s %q\n", ev.Type, p.Text)
		case event.TextCompleted:
			fmt.Printf("%s %q\n", ev.Type, p.Text)
		case event.ToolCallRequested:
			fmt.Println(ev.Type, p.Name, string(p.Arguments))
		case event.ProviderCallCompleted:
			fmt.Printf("%s %s in=%d out=%d cost=$%.6f\n", ev.Type, p.FinishReason, p.Usage.InputTokens, p.Usage.OutputTokens, p.Cost)
		}
		return nil
	})
	em := sluice.NewEmitter(show, event.Meta{RunID: "demo"})
	ctx := context.Background()

	params := anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_5,
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What's the weather in Paris?"))},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
			InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}},
	}
	for {
		res, err := sluiceanthropic.Stream(ctx, em, &client.Messages, params)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		params.Messages = append(params.Messages, res.Message.ToParam())
		if res.FinishReason != provider.FinishToolCalls {
			break
		}
		var results []anthropic.ContentBlockParamUnion
		for _, call := range res.ToolCalls {
			results = append(results, anthropic.NewToolResultBlock(call.ID, `{"temp_c": 18, "sky": "partly cloudy"}`, false))
		}
		params.Messages = append(params.Messages, anthropic.NewUserMessage(results...))
	}
	// The second request carried the tool result back.
	fmt.Println(strings.Contains(string(srv.Requests()[1].Body), scripted.WeatherToolCallID))
	// Output:
	// provider.call.started claude-sonnet-4-5
	// message.thinking.completed "The user wants the current weather in Paris. I have a get_weather tool; I should call it with the city Paris and Celsius, since Paris uses metric."
	// message.text.completed "I'll check the current weather in Paris for you."
	// tool.call.requested get_weather {"city": "Paris", "unit": "celsius"}
	// provider.call.completed tool_calls in=412 out=96 cost=$0.002676
	// provider.call.started claude-sonnet-4-5
	// message.text.completed "It's 18 °C and partly cloudy in Paris right now, with a light breeze from the west. A light jacket should be enough if you're heading out."
	// provider.call.completed stop in=561 out=41 cost=$0.002298
	// true
}
