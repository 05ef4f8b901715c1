package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
	"github.com/sluice-events/sluice/provider/anthropic"
	"github.com/sluice-events/sluice/provider/internal/providertest"
	"github.com/sluice-events/sluice/provider/scripted"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run replays the transcript in file through the SDK and the adapter.
func run(t *testing.T, ctx context.Context, file string, rec *providertest.Recorder, opts ...provider.Option) (*anthropic.Result, error, *scripted.Server) {
	t.Helper()
	tr, err := scripted.Load("../testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	srv := scripted.NewServer([]scripted.Transcript{tr}, scripted.Speed(0))
	t.Cleanup(srv.Close)
	client := newClient(t, srv)
	params := sdk.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 1024,
		Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("What's the weather in San Francisco?"))},
		Tools: []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{Name: "get_weather",
			InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{"location": map[string]any{"type": "string"}}}}}},
	}
	opts = append([]provider.Option{provider.WithClock(providertest.Clock(time.Second))}, opts...)
	res, err := anthropic.Stream(ctx, rec.Emitter(), &client.Messages, params, opts...)
	return res, err, srv
}

func newClient(t *testing.T, srv *scripted.Server) sdk.Client {
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	return sdk.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test-key"), option.WithMaxRetries(0), option.WithHTTPClient(hc))
}

func TestThinkingTextToolUse(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err, _ := run(t, context.Background(), "anthropic_messages_tool_thinking.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	args := json.RawMessage(`{"location": "San Francisco, CA"}`)
	start := event.Usage{InputTokens: 472, OutputTokens: 2, TotalTokens: 474, Cumulative: true}
	final := event.Usage{InputTokens: 472, OutputTokens: 89, TotalTokens: 561, Cumulative: true}
	providertest.Equal(t, rec.Payloads(), []event.Payload{
		event.ProviderCallStarted{Provider: "anthropic", Model: "claude-sonnet-4-5", MessageCount: 1, ToolCount: 1},
		event.MessageStarted{ID: "msg_01ABC", Role: "assistant", Model: "claude-sonnet-4-5"},
		event.UsageReported{Usage: start},
		event.BlockStarted{Index: 0, Kind: "thinking"},
		event.ThinkingDelta{Index: 0, Offset: 0, Text: "User wants weather; call the tool."},
		event.ThinkingCompleted{Index: 0, Text: "User wants weather; call the tool.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
		event.BlockStopped{Index: 0, Kind: "thinking"},
		event.BlockStarted{Index: 1, Kind: "text"},
		event.TextDelta{Index: 1, Offset: 0, Text: "Let me check"},
		event.TextDelta{Index: 1, Offset: 12, Text: " the weather."},
		event.TextCompleted{Index: 1, Text: "Let me check the weather."},
		event.BlockStopped{Index: 1, Kind: "text"},
		event.BlockStarted{Index: 2, Kind: "tool_use", ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6"},
		event.ToolCallDelta{CallID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Index: 0, Offset: 0, Delta: `{"location": "San Fra`},
		event.ToolCallDelta{CallID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Index: 0, Offset: 21, Delta: `ncisco, CA"}`},
		event.ToolCallRequested{CallID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Index: 0, Arguments: args},
		event.BlockStopped{Index: 2, Kind: "tool_use", ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6"},
		event.UsageReported{Usage: final},
		event.MessageStopped{ID: "msg_01ABC", StopReason: "tool_use"},
		event.ProviderCallCompleted{Provider: "anthropic", Model: "claude-sonnet-4-5", Duration: time.Second, Usage: final,
			Cost: (472*3 + 89*15) / 1e6, FinishReason: "tool_calls", ToolCallCount: 1},
	})
	providertest.CheckScopes(t, rec.Events, "anthropic", "msg_01ABC")

	if res.Text != "Let me check the weather." || res.Thinking != "User wants weather; call the tool." ||
		res.FinishReason != "tool_calls" || res.StopReason != "tool_use" || !res.CostKnown {
		t.Errorf("result %+v", res.Result)
	}
	if len(res.ToolCalls) != 1 || res.ToolCalls[0].ID != "toolu_01T1x1fJ34qAmk2tNTrN7Up6" || string(res.ToolCalls[0].Arguments) != string(args) {
		t.Errorf("tool calls %+v", res.ToolCalls)
	}
	// The SDK's accumulated message is there to continue the conversation.
	if len(res.Message.Content) != 3 || res.Message.Content[2].Name != "get_weather" || res.Message.Content[0].Signature == "" {
		t.Errorf("message %+v", res.Message.Content)
	}
	param := res.Message.ToParam()
	if len(param.Content) != 3 || param.Content[2].OfToolUse == nil || param.Content[0].OfThinking == nil {
		t.Errorf("ToParam %+v", param)
	}
}

func TestCacheTokens(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err, _ := run(t, context.Background(), "anthropic_cache_tokens.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	start := event.Usage{InputTokens: 12 + 512 + 2048, OutputTokens: 1, TotalTokens: 2573, CacheCreationTokens: 512, CacheReadTokens: 2048, Cumulative: true}
	final := start
	final.OutputTokens, final.TotalTokens = 9, 2581
	// claude-haiku-4-5: input 1, cache write 1.25, cache read 0.10, output 5.
	cost := (12*1 + 512*1.25 + 2048*0.10 + 9*5) / 1e6
	providertest.Equal(t, rec.Payloads(), []event.Payload{
		event.ProviderCallStarted{Provider: "anthropic", Model: "claude-sonnet-4-5", MessageCount: 1, ToolCount: 1},
		event.MessageStarted{ID: "msg_04CACHE", Role: "assistant", Model: "claude-haiku-4-5-20251001"},
		event.UsageReported{Usage: start},
		event.BlockStarted{Index: 0, Kind: "text"},
		event.TextDelta{Index: 0, Offset: 0, Text: "Paris is the"},
		event.TextDelta{Index: 0, Offset: 12, Text: " capital of France."},
		event.TextCompleted{Index: 0, Text: "Paris is the capital of France."},
		event.BlockStopped{Index: 0, Kind: "text"},
		event.UsageReported{Usage: final},
		event.MessageStopped{ID: "msg_04CACHE", StopReason: "end_turn"},
		event.ProviderCallCompleted{Provider: "anthropic", Model: "claude-haiku-4-5-20251001", Duration: time.Second, Usage: final,
			Cost: cost, FinishReason: "stop"},
	})
	if res.Usage != final || res.Text != "Paris is the capital of France." {
		t.Errorf("result %+v", res.Result)
	}
}

func TestRefusalIsContentFilter(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err, _ := run(t, context.Background(), "anthropic_refusal.sse", rec)
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Payloads()
	last := got[len(got)-1].(event.ProviderCallCompleted)
	stop := got[len(got)-2].(event.MessageStopped)
	if last.FinishReason != "content_filter" || stop.StopReason != "refusal" || res.Text != "Here is how you would" {
		t.Errorf("completed %+v, stopped %+v, text %q", last, stop, res.Text)
	}
	if string(res.Message.StopDetails.Category) != "cyber" {
		t.Errorf("stop details %+v", res.Message.StopDetails)
	}
}

func TestMidStreamError(t *testing.T) {
	rec := &providertest.Recorder{}
	res, err, _ := run(t, context.Background(), "anthropic_error_midstream.sse", rec)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Code != "overloaded_error" || !pe.Retryable || !pe.MidStream || pe.Message != "Overloaded" {
		t.Fatalf("error %#v", err)
	}
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) {
		t.Error("the SDK's error is not in the chain")
	}
	want := event.Error{Message: "anthropic: Overloaded", Code: "overloaded_error", Kind: "provider", Retryable: true}
	providertest.Equal(t, rec.Payloads(), []event.Payload{
		event.ProviderCallStarted{Provider: "anthropic", Model: "claude-sonnet-4-5", MessageCount: 1, ToolCount: 1},
		event.MessageStarted{ID: "msg_02", Role: "assistant", Model: "claude-sonnet-4-5"},
		event.UsageReported{Usage: event.Usage{InputTokens: 10, OutputTokens: 1, TotalTokens: 11, Cumulative: true}},
		event.StreamError{Error: want},
		event.ProviderCallFailed{Provider: "anthropic", Model: "claude-sonnet-4-5", Error: want, Duration: time.Second},
	})
	if res == nil || res.MessageID != "msg_02" {
		t.Errorf("partial result %+v", res)
	}
}

func TestHTTPErrorBeforeStreaming(t *testing.T) {
	rec := &providertest.Recorder{}
	_, err, _ := run(t, context.Background(), "anthropic_http_529.sse", rec)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Code != "overloaded_error" || pe.StatusCode != 529 || !pe.Retryable || pe.MidStream {
		t.Fatalf("error %#v", err)
	}
	got := rec.Payloads()
	if len(got) != 2 {
		t.Fatalf("events %v", got)
	}
	failed := got[1].(event.ProviderCallFailed)
	if failed.Error.Code != "overloaded_error" || !failed.Error.Retryable || failed.Error.Kind != "provider" {
		t.Errorf("failed %+v", failed)
	}
}

func TestTruncatedStreamIsInterrupted(t *testing.T) {
	rec := &providertest.Recorder{}
	_, err, _ := run(t, context.Background(), "anthropic_truncated.sse", rec)
	if !errors.Is(err, provider.ErrIncomplete) {
		t.Fatalf("error %v", err)
	}
	got := rec.Payloads()
	in, ok := got[len(got)-2].(event.StreamInterrupted)
	if !ok || in.Text != "The connection" || !strings.Contains(in.Reason, "message_stop") {
		t.Errorf("interrupted %+v", got[len(got)-2])
	}
	failed := got[len(got)-1].(event.ProviderCallFailed)
	if failed.Error.Code != provider.CodeIncomplete || !failed.Error.Retryable {
		t.Errorf("failed %+v", failed)
	}
}

func TestCancelMidStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &providertest.Recorder{}
	// Cancel once the last text before the provider stalls has arrived:
	// the adapter is then waiting on a stream that sends nothing more.
	rec.OnEvent = func(ev event.Event) {
		if d, ok := ev.Payload.(event.TextDelta); ok && d.Text == " a time" {
			go cancel()
		}
	}
	res, err, _ := run(t, ctx, "anthropic_stall.sse", rec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	providertest.Equal(t, rec.Payloads()[6:], []event.Payload{
		event.StreamInterrupted{Reason: "context canceled", Text: "Once upon a time"},
		event.ProviderCallFailed{Provider: "anthropic", Model: "claude-sonnet-4-5", Duration: time.Second,
			Error: event.Error{Message: err.Error(), Kind: event.KindCanceled}},
	})
	if res.Text != "Once upon a time" {
		t.Errorf("partial text %q", res.Text)
	}
}

func TestNilEmitter(t *testing.T) {
	tr, err := scripted.Load("../testdata/anthropic_messages_tool_thinking.sse")
	if err != nil {
		t.Fatal(err)
	}
	srv := scripted.NewServer([]scripted.Transcript{tr}, scripted.Speed(0))
	defer srv.Close()
	client := newClient(t, srv)
	res, err := anthropic.Stream(context.Background(), nil, &client.Messages, sdk.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 10})
	if err != nil || res.Text != "Let me check the weather." || len(res.ToolCalls) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
}

// The adapter fills the SDK's Message without Accumulate's quadratic
// string appends; the result must be the same as the SDK's own.
func TestMessageMatchesSDKAccumulate(t *testing.T) {
	for _, file := range []string{"anthropic_messages_tool_thinking.sse", "anthropic_cache_tokens.sse", "anthropic_refusal.sse",
		"../scripted/transcripts/weather_1_tool_use.sse"} {
		t.Run(file, func(t *testing.T) {
			body, err := os.ReadFile("../testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			s := ssestream.NewStream[sdk.MessageStreamEventUnion](ssestream.NewDecoder(providertest.Response(body)), nil)
			var want sdk.Message
			for s.Next() {
				if err := want.Accumulate(s.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if s.Err() != nil {
				t.Fatal(s.Err())
			}
			res, err, _ := run(t, context.Background(), file, &providertest.Recorder{})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Message.RawJSON(); got != want.RawJSON() {
				t.Errorf("message JSON\n got %s\nwant %s", got, want.RawJSON())
			}
			g, _ := json.Marshal(res.Message.ToParam())
			w, _ := json.Marshal(want.ToParam())
			if string(g) != string(w) {
				t.Errorf("ToParam\n got %s\nwant %s", g, w)
			}
		})
	}
}
