package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
	"github.com/sluice-events/sluice/provider/internal/providertest"
	"github.com/sluice-events/sluice/provider/openai"
	"github.com/sluice-events/sluice/provider/scripted"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func server(t *testing.T, file string) (*scripted.Server, sdk.Client) {
	t.Helper()
	tr, err := scripted.Load("../testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	srv := scripted.NewServer([]scripted.Transcript{tr}, scripted.Speed(0))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	return srv, sdk.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test-key"), option.WithMaxRetries(0), option.WithHTTPClient(hc))
}

var clock = provider.WithClock(providertest.Clock(time.Second))

func chat(t *testing.T, ctx context.Context, file string, rec *providertest.Recorder) (*openai.ChatResult, error, *scripted.Server) {
	t.Helper()
	srv, client := server(t, file)
	params := sdk.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("Weather and time in Paris?")},
		Tools: []sdk.ChatCompletionToolUnionParam{
			sdk.ChatCompletionFunctionTool(sdk.FunctionDefinitionParam{Name: "get_weather"}),
			sdk.ChatCompletionFunctionTool(sdk.FunctionDefinitionParam{Name: "get_time"}),
		},
	}
	res, err := openai.StreamChat(ctx, rec.Emitter(), &client.Chat.Completions, params, clock)
	return res, err, srv
}

func TestChatParallelToolCalls(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err, srv := chat(t, context.Background(), "openai_chat_tool_calls.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	weather, tz := json.RawMessage(`{"location":"Paris"}`), json.RawMessage(`{"tz":"CET"}`)
	usage := event.Usage{InputTokens: 82, OutputTokens: 41, TotalTokens: 123, Cumulative: true}
	providertest.Equal(t, rec.Payloads(), []event.Payload{
		event.ProviderCallStarted{Provider: "openai", Model: "gpt-4o-mini", MessageCount: 1, ToolCount: 2},
		event.MessageStarted{ID: "chatcmpl-123", Role: "assistant", Model: "gpt-4o-mini"},
		event.BlockStarted{Index: 0, Kind: "text"},
		event.TextDelta{Index: 0, Offset: 0, Text: "Checking"},
		event.TextCompleted{Index: 0, Text: "Checking"},
		event.BlockStopped{Index: 0, Kind: "text"},
		event.BlockStarted{Index: 1, Kind: "tool_use", ID: "call_abc"},
		event.ToolCallDelta{CallID: "call_abc", Name: "get_weather", Index: 0, Offset: 0, Delta: `{"loc`},
		event.ToolCallDelta{CallID: "call_abc", Name: "get_weather", Index: 0, Offset: 5, Delta: `ation":"Paris"}`},
		event.BlockStarted{Index: 2, Kind: "tool_use", ID: "call_def"},
		event.ToolCallDelta{CallID: "call_def", Name: "get_time", Index: 1, Offset: 0, Delta: `{"tz":"CET"}`},
		event.ToolCallRequested{CallID: "call_abc", Name: "get_weather", Index: 0, Arguments: weather},
		event.BlockStopped{Index: 1, Kind: "tool_use", ID: "call_abc"},
		event.ToolCallRequested{CallID: "call_def", Name: "get_time", Index: 1, Arguments: tz},
		event.BlockStopped{Index: 2, Kind: "tool_use", ID: "call_def"},
		event.UsageReported{Usage: usage},
		event.MessageStopped{ID: "chatcmpl-123", StopReason: "tool_calls"},
		event.ProviderCallCompleted{Provider: "openai", Model: "gpt-4o-mini", Duration: time.Second, Usage: usage,
			Cost: (82*0.15 + 41*0.60) / 1e6, FinishReason: "tool_calls", ToolCallCount: 2},
	})
	providertest.CheckScopes(t, rec.Events, "openai", "chatcmpl-123")

	// StreamChat asked for the usage chunk.
	if body := string(srv.Requests()[0].Body); !strings.Contains(body, `"stream_options":{"include_usage":true}`) {
		t.Errorf("request %s", body)
	}
	if res.Text != "Checking" || len(res.ToolCalls) != 2 || res.ToolCalls[1].ID != "call_def" || res.FinishReason != "tool_calls" {
		t.Errorf("result %+v", res.Result)
	}
	// The completion goes back into the conversation as it is.
	msg := res.Completion.Choices[0].Message
	if msg.Content != "Checking" || len(msg.ToolCalls) != 2 || msg.ToolCalls[0].AsFunction().Function.Arguments != `{"location":"Paris"}` ||
		res.Completion.Usage.PromptTokens != 82 || res.Completion.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("completion %s", res.Completion.RawJSON())
	}
	param := msg.ToParam()
	if len(param.OfAssistant.ToolCalls) != 2 || param.OfAssistant.ToolCalls[1].OfFunction.ID != "call_def" {
		t.Errorf("ToParam %+v", param.OfAssistant)
	}
}

func TestChatUsageChunkWithCacheAndReasoning(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err, _ := chat(t, context.Background(), "openai_chat_text_usage.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	usage := event.Usage{InputTokens: 1536, OutputTokens: 210, TotalTokens: 1746, CachedTokens: 1024, ReasoningTokens: 192, Cumulative: true}
	providertest.Equal(t, rec.Payloads(), []event.Payload{
		event.ProviderCallStarted{Provider: "openai", Model: "gpt-4o-mini", MessageCount: 1, ToolCount: 2},
		event.MessageStarted{ID: "chatcmpl-U1", Role: "assistant", Model: "o4-mini-2025-04-16"},
		event.BlockStarted{Index: 0, Kind: "text"},
		event.TextDelta{Index: 0, Offset: 0, Text: "Four"},
		event.TextDelta{Index: 0, Offset: 4, Text: "."},
		event.TextCompleted{Index: 0, Text: "Four."},
		event.BlockStopped{Index: 0, Kind: "text"},
		event.UsageReported{Usage: usage},
		event.MessageStopped{ID: "chatcmpl-U1", StopReason: "stop"},
		// o4-mini: input 1.10, cached 0.275, output 4.40 (reasoning billed as output).
		event.ProviderCallCompleted{Provider: "openai", Model: "o4-mini-2025-04-16", Duration: time.Second, Usage: usage,
			Cost: (512*1.10 + 1024*0.275 + 210*4.40) / 1e6, FinishReason: "stop"},
	})
	if res.Usage != usage || !res.CostKnown {
		t.Errorf("result %+v", res.Result)
	}
}

func TestChatRefusal(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err, _ := chat(t, context.Background(), "openai_chat_refusal.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Payloads()
	providertest.Equal(t, got[2:7], []event.Payload{
		event.BlockStarted{Index: 0, Kind: "refusal"},
		event.TextDelta{Index: 0, Offset: 0, Text: "I'm sorry, "},
		event.TextDelta{Index: 0, Offset: 11, Text: "I can't help with that."},
		event.TextCompleted{Index: 0, Text: "I'm sorry, I can't help with that."},
		event.BlockStopped{Index: 0, Kind: "refusal"},
	})
	done := got[len(got)-1].(event.ProviderCallCompleted)
	if done.FinishReason != "refusal" || res.Refusal != "I'm sorry, I can't help with that." || res.Text != "" {
		t.Errorf("completed %+v, result %+v", done, res.Result)
	}
	if m := res.Completion.Choices[0].Message; m.Refusal != res.Refusal || m.Content != "" {
		t.Errorf("completion %s", res.Completion.RawJSON())
	}
}

func TestChatContentFilter(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err, _ := chat(t, context.Background(), "openai_chat_content_filter.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Payloads()
	stop := got[len(got)-2].(event.MessageStopped)
	done := got[len(got)-1].(event.ProviderCallCompleted)
	if stop.StopReason != "content_filter" || done.FinishReason != "content_filter" || res.Text != "The recipe calls for" {
		t.Errorf("stopped %+v, completed %+v, text %q", stop, done, res.Text)
	}
}

func TestChatMidStreamError(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err, _ := chat(t, context.Background(), "openai_chat_error_midstream.sse", rec)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Code != "server_error" || !pe.Retryable || !pe.MidStream {
		t.Fatalf("error %#v", err)
	}
	want := event.Error{Message: "openai: The server had an error while processing your request. Sorry about that!", Code: "server_error", Kind: "provider", Retryable: true}
	got := rec.Payloads()
	providertest.Equal(t, got[len(got)-2:], []event.Payload{
		event.StreamError{Error: want},
		event.ProviderCallFailed{Provider: "openai", Model: "gpt-4o-mini", Error: want, Duration: time.Second},
	})
	if res.Text != "Partial" {
		t.Errorf("partial text %q", res.Text)
	}
}

func TestChatHTTPError(t *testing.T) {
	rec := &providertest.Recorder{}
	_, err, _ := chat(t, context.Background(), "openai_chat_http_429.sse", rec)
	var pe *provider.Error
	var apiErr *sdk.Error
	if !errors.As(err, &pe) || pe.Code != "rate_limit_exceeded" || pe.StatusCode != 429 || !pe.Retryable || pe.MidStream || !errors.As(err, &apiErr) {
		t.Fatalf("error %#v", err)
	}
	got := rec.Payloads()
	if len(got) != 2 {
		t.Fatalf("want started and failed only, got %v", got)
	}
	if f := got[1].(event.ProviderCallFailed); f.Error.Code != "rate_limit_exceeded" || !f.Error.Retryable {
		t.Errorf("failed %+v", f)
	}
}

func TestChatCancelMidStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &providertest.Recorder{}
	rec.OnEvent = func(ev event.Event) {
		if d, ok := ev.Payload.(event.TextDelta); ok && d.Text == " one," {
			go cancel()
		}
	}
	res, err, _ := chat(t, ctx, "openai_chat_stall.sse", rec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	got := rec.Payloads()
	providertest.Equal(t, got[len(got)-2:], []event.Payload{
		event.StreamInterrupted{Reason: "context canceled", Text: "Counting: one,"},
		event.ProviderCallFailed{Provider: "openai", Model: "gpt-4o-mini", Duration: time.Second,
			Error: event.Error{Message: err.Error(), Kind: event.KindCanceled}},
	})
	if res.Text != "Counting: one," {
		t.Errorf("partial %q", res.Text)
	}
}

func response(t *testing.T, file string, rec *providertest.Recorder) (*openai.ResponseResult, error) {
	t.Helper()
	_, client := server(t, file)
	params := responses.ResponseNewParams{
		Model: "gpt-4.1",
		Input: responses.ResponseNewParamsInputUnion{OfString: sdk.String("Weather in Paris?")},
		Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{Name: "get_weather"}}},
	}
	return openai.StreamResponse(context.Background(), rec.Emitter(), &client.Responses, params, clock)
}

func TestResponsesReasoningTextFunctionCall(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err := response(t, "openai_responses_text_tool_reasoning.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	args := json.RawMessage(`{"location":"Paris"}`)
	usage := event.Usage{InputTokens: 36, OutputTokens: 87, TotalTokens: 123, ReasoningTokens: 12, Cumulative: true}
	providertest.Equal(t, rec.Payloads(), []event.Payload{
		event.ProviderCallStarted{Provider: "openai", Model: "gpt-4.1", MessageCount: 1, ToolCount: 1},
		event.MessageStarted{ID: "resp_67c9", Role: "assistant", Model: "gpt-4.1-2025-04-14"},
		event.BlockStarted{Index: 0, Kind: "thinking", ID: "rs_1"},
		event.ThinkingDelta{Index: 0, Offset: 0, Text: "Need weather."},
		event.ThinkingCompleted{Index: 0, Text: "Need weather."},
		event.BlockStopped{Index: 0, Kind: "thinking", ID: "rs_1"},
		event.BlockStarted{Index: 1, Kind: "text", ID: "msg_67c9"},
		event.TextDelta{Index: 1, Offset: 0, Text: "Hi"},
		event.TextDelta{Index: 1, Offset: 2, Text: " there"},
		event.TextCompleted{Index: 1, Text: "Hi there"},
		event.BlockStopped{Index: 1, Kind: "text", ID: "msg_67c9"},
		event.BlockStarted{Index: 2, Kind: "tool_use", ID: "fc_12345"},
		event.ToolCallDelta{CallID: "call_abc", Name: "get_weather", Index: 0, Offset: 0, Delta: `{"location":`},
		event.ToolCallDelta{CallID: "call_abc", Name: "get_weather", Index: 0, Offset: 12, Delta: `"Paris"}`},
		event.ToolCallRequested{CallID: "call_abc", Name: "get_weather", Index: 0, Arguments: args},
		event.BlockStopped{Index: 2, Kind: "tool_use", ID: "fc_12345"},
		event.UsageReported{Usage: usage},
		event.MessageStopped{ID: "resp_67c9", StopReason: "completed"},
		event.ProviderCallCompleted{Provider: "openai", Model: "gpt-4.1-2025-04-14", Duration: time.Second, Usage: usage,
			Cost: (36*2.0 + 87*8.0) / 1e6, FinishReason: "tool_calls", ToolCallCount: 1},
	})
	providertest.CheckScopes(t, rec.Events, "openai", "resp_67c9")
	if res.Response.ID != "resp_67c9" || len(res.Response.Output) != 3 || res.Text != "Hi there" || res.Thinking != "Need weather." {
		t.Errorf("result %+v", res.Result)
	}
}

func TestResponsesMissingItemFails(t *testing.T) {
	rec := &providertest.Recorder{}
	_, err := response(t, "neg_openai_responses_missing_item.sse", rec)
	if !errors.Is(err, provider.ErrProtocol) {
		t.Fatalf("error %v", err)
	}
	const msg = `response.content_part.added (sequence_number 9) refers to output item "msg_67c9" at output_index 1, which was never added; sequence_number 8 is missing`
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not say %q", err, msg)
	}
	want := event.Error{Message: "openai: " + msg, Code: "protocol_error", Kind: "provider"}
	providertest.Equal(t, rec.Payloads(), []event.Payload{
		event.ProviderCallStarted{Provider: "openai", Model: "gpt-4.1", MessageCount: 1, ToolCount: 1},
		event.MessageStarted{ID: "resp_67c9", Role: "assistant", Model: "gpt-4.1-2025-04-14"},
		event.BlockStarted{Index: 0, Kind: "thinking", ID: "rs_1"},
		event.ThinkingDelta{Index: 0, Offset: 0, Text: "Need weather."},
		event.ThinkingCompleted{Index: 0, Text: "Need weather."},
		event.BlockStopped{Index: 0, Kind: "thinking", ID: "rs_1"},
		event.StreamError{Error: want},
		event.ProviderCallFailed{Provider: "openai", Model: "gpt-4.1", Error: want, Duration: time.Second},
	})
}

func TestResponsesRefusal(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err := response(t, "openai_responses_refusal.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Payloads()
	providertest.Equal(t, got[2:7], []event.Payload{
		event.BlockStarted{Index: 0, Kind: "refusal", ID: "msg_ref1"},
		event.TextDelta{Index: 0, Offset: 0, Text: "I'm sorry, "},
		event.TextDelta{Index: 0, Offset: 11, Text: "but I can't help with that."},
		event.TextCompleted{Index: 0, Text: "I'm sorry, but I can't help with that."},
		event.BlockStopped{Index: 0, Kind: "refusal", ID: "msg_ref1"},
	})
	if res.FinishReason != "refusal" || res.Refusal == "" || res.Text != "" {
		t.Errorf("result %+v", res.Result)
	}
}

func TestResponsesIncompleteContentFilter(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err := response(t, "openai_responses_incomplete.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Payloads()
	stop := got[len(got)-2].(event.MessageStopped)
	done := got[len(got)-1].(event.ProviderCallCompleted)
	if stop.StopReason != "content_filter" || done.FinishReason != "content_filter" || res.Text != "The first step is" ||
		done.Model != "gpt-4.1-mini-2025-04-14" || done.CostUnknown {
		t.Errorf("stopped %+v, completed %+v, text %q", stop, done, res.Text)
	}
}

func TestResponsesFailed(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err := response(t, "openai_responses_failed.sse", rec)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Code != "server_error" || !pe.Retryable || !pe.MidStream {
		t.Fatalf("error %#v", err)
	}
	got := rec.Payloads()
	if _, ok := got[len(got)-2].(event.StreamError); !ok {
		t.Errorf("events %v", got)
	}
	if res.Text != "Hel" {
		t.Errorf("partial %q", res.Text)
	}
}

func TestUnknownModelCostIsUnknown(t *testing.T) {
	rec := &providertest.Recorder{}
	_, client := server(t, "openai_chat_tool_calls.sse")
	prices := provider.NewPrices(nil) // knows no model
	res, err := openai.StreamChat(context.Background(), rec.Emitter(), &client.Chat.Completions,
		sdk.ChatCompletionNewParams{Model: "gpt-4o-mini"}, provider.WithPrices(prices))
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Payloads()
	done := got[len(got)-1].(event.ProviderCallCompleted)
	if !done.CostUnknown || done.Cost != 0 || res.CostKnown {
		t.Errorf("completed %+v", done)
	}
	data, _ := event.Marshal(rec.Events[len(rec.Events)-1])
	if !strings.Contains(string(data), `"cost_unknown":true`) || strings.Contains(string(data), `"cost":`) {
		t.Errorf("encoded %s", data)
	}
}

// Without include_usage a Chat stream reports no tokens: the cost is then
// unknown, not zero.
func TestChatWithoutUsageHasUnknownCost(t *testing.T) {
	tr := scripted.MustParse("no-usage", []byte(`data: {"id":"chatcmpl-N","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}

data: {"id":"chatcmpl-N","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: [DONE]

`))
	srv := scripted.NewServer([]scripted.Transcript{tr}, scripted.Speed(0))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	client := sdk.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("k"), option.WithMaxRetries(0), option.WithHTTPClient(hc))
	rec := &providertest.Recorder{}
	params := sdk.ChatCompletionNewParams{Model: "gpt-4o-mini", StreamOptions: sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(false)}}
	res, err := openai.StreamChat(context.Background(), rec.Emitter(), &client.Chat.Completions, params)
	if err != nil {
		t.Fatal(err)
	}
	if body := string(srv.Requests()[0].Body); !strings.Contains(body, `"include_usage":false`) {
		t.Errorf("the caller's include_usage was overridden: %s", body)
	}
	got := rec.Payloads()
	if done := got[len(got)-1].(event.ProviderCallCompleted); !done.CostUnknown || res.CostKnown || res.Text != "Hi" {
		t.Errorf("completed %+v", done)
	}
}
