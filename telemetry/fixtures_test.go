package telemetry_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	anthropicsdk "github.com/anthropics/anthropic-sdk-go"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/option"
	openaisdk "github.com/openai/openai-go/v3"
	openaiopt "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider/anthropic"
	"github.com/sluice-events/sluice/provider/openai"
	"github.com/sluice-events/sluice/provider/scripted"
	"github.com/sluice-events/sluice/sinktest"
)

// replay streams the transcript in file through the official SDK and the
// adapter for its API, publishing to sink.
func replay(t *testing.T, file string, sink sluice.Sink) {
	tr, err := scripted.Load("../provider/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	srv := scripted.NewServer([]scripted.Transcript{tr}, scripted.Speed(0))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-srv.Stalled():
			cancel()
		case <-ctx.Done():
		}
	}()
	em := sluice.NewEmitter(sink, event.Meta{RunID: "run-1", ConversationID: "conv-1"})
	question := "What's the weather in San Francisco?"
	switch {
	case strings.HasPrefix(file, "anthropic_"):
		c := anthropicsdk.NewClient(anthropicopt.WithBaseURL(srv.URL), anthropicopt.WithAPIKey("k"), anthropicopt.WithMaxRetries(0), anthropicopt.WithHTTPClient(hc))
		_, _ = anthropic.Stream(ctx, em, &c.Messages, anthropicsdk.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 1024,
			Messages: []anthropicsdk.MessageParam{anthropicsdk.NewUserMessage(anthropicsdk.NewTextBlock(question))}})
	case strings.HasPrefix(file, "openai_chat_"):
		c := openaisdk.NewClient(openaiopt.WithBaseURL(srv.URL), openaiopt.WithAPIKey("k"), openaiopt.WithMaxRetries(0), openaiopt.WithHTTPClient(hc))
		_, _ = openai.StreamChat(ctx, em, &c.Chat.Completions, openaisdk.ChatCompletionNewParams{Model: "gpt-4o-mini",
			Messages: []openaisdk.ChatCompletionMessageParamUnion{openaisdk.UserMessage(question)}})
	default:
		c := openaisdk.NewClient(openaiopt.WithBaseURL(srv.URL), openaiopt.WithAPIKey("k"), openaiopt.WithMaxRetries(0), openaiopt.WithHTTPClient(hc))
		_, _ = openai.StreamResponse(ctx, em, &c.Responses, responses.ResponseNewParams{Model: "gpt-4o-mini",
			Input: responses.ResponseNewParamsInputUnion{OfString: openaisdk.String(question)}})
	}
}

// Every provider fixture gives one chat span whose attributes and status
// say what the adapter's events say.
func TestProviderFixtures(t *testing.T) {
	files, err := os.ReadDir("../provider/testdata")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".sse") {
			continue
		}
		n++
		t.Run(strings.TrimSuffix(f.Name(), ".sse"), func(t *testing.T) {
			tr := newTraced(t, sdktrace.AlwaysSample())
			rec := new(sinktest.Recorder)
			replay(t, f.Name(), sluice.Fanout(tr.sink, rec))
			var (
				started   *event.ProviderCallStarted
				completed *event.ProviderCallCompleted
				failed    *event.ProviderCallFailed
				msg       *event.MessageStarted
				chunks    int
			)
			for _, ev := range rec.Events() {
				switch p := ev.Payload.(type) {
				case event.ProviderCallStarted:
					started = &p
				case event.ProviderCallCompleted:
					completed = &p
				case event.ProviderCallFailed:
					failed = &p
				case event.MessageStarted:
					msg = &p
				case event.TextDelta, event.ThinkingDelta, event.ToolCallDelta:
					chunks++
				}
			}
			spans := tr.spans.Ended()
			if started == nil || len(spans) != 1 {
				t.Fatalf("%d spans for %d calls", len(spans), btoi(started != nil))
			}
			s := spans[0]
			a := attrs(s)
			if s.Name() != "chat "+started.Model || a["gen_ai.provider.name"].AsString() != started.Provider {
				t.Errorf("span %q provider %q, want chat %s, %s", s.Name(), a["gen_ai.provider.name"].AsString(), started.Model, started.Provider)
			}
			if msg != nil && msg.ID != "" && a["gen_ai.response.id"].AsString() != msg.ID {
				t.Errorf("response ID %q, want %q", a["gen_ai.response.id"].AsString(), msg.ID)
			}
			if _, ok := a["gen_ai.response.time_to_first_chunk"]; ok != (chunks > 0) {
				t.Errorf("time to first chunk set %v with %d chunks", ok, chunks)
			}
			var rm metricdata.ResourceMetrics
			if err := tr.reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			tokens, errTypes := map[string]int64{}, map[string]uint64{}
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					switch d := m.Data.(type) {
					case metricdata.Histogram[int64]:
						for _, dp := range d.DataPoints {
							typ, _ := dp.Attributes.Value("gen_ai.token.type")
							tokens[typ.AsString()] += dp.Sum
						}
					case metricdata.Histogram[float64]:
						if m.Name == "gen_ai.client.operation.duration" {
							for _, dp := range d.DataPoints {
								et, _ := dp.Attributes.Value("error.type")
								errTypes[et.AsString()] += dp.Count
							}
						}
					}
				}
			}
			switch {
			case completed != nil:
				if tokens["input"] != completed.Usage.InputTokens || tokens["output"] != completed.Usage.OutputTokens || errTypes[""] != 1 {
					t.Errorf("metrics: tokens %v, durations %v; want input %d, output %d, one call", tokens, errTypes, completed.Usage.InputTokens, completed.Usage.OutputTokens)
				}
				if s.Status().Code != codes.Unset {
					t.Errorf("completed call has status %v", s.Status())
				}
				if got := a["gen_ai.usage.input_tokens"].AsInt64(); got != completed.Usage.InputTokens {
					t.Errorf("input tokens %d, want %d", got, completed.Usage.InputTokens)
				}
				if got := a["gen_ai.usage.output_tokens"].AsInt64(); got != completed.Usage.OutputTokens {
					t.Errorf("output tokens %d, want %d", got, completed.Usage.OutputTokens)
				}
				if got := a["gen_ai.usage.cache_read.input_tokens"].AsInt64(); got != completed.Usage.CacheReadTokens+completed.Usage.CachedTokens {
					t.Errorf("cache read tokens %d, want %d", got, completed.Usage.CacheReadTokens+completed.Usage.CachedTokens)
				}
				if got := a["gen_ai.usage.reasoning.output_tokens"].AsInt64(); got != completed.Usage.ReasoningTokens {
					t.Errorf("reasoning tokens %d, want %d", got, completed.Usage.ReasoningTokens)
				}
				if got := a["gen_ai.response.finish_reasons"].AsStringSlice(); completed.FinishReason != "" && (len(got) != 1 || got[0] != completed.FinishReason) {
					t.Errorf("finish reasons %q, want [%s]", got, completed.FinishReason)
				}
			case failed != nil:
				want := failed.Error.Code
				if want == "" {
					want = failed.Error.Kind
				}
				if len(tokens) != 0 || errTypes[want] != 1 {
					t.Errorf("metrics of a failed call: tokens %v, durations by error.type %v", tokens, errTypes)
				}
				if s.Status().Code != codes.Error || a["error.type"].AsString() != want {
					t.Errorf("failed call: status %v, error.type %q; want error, %q", s.Status(), a["error.type"].AsString(), want)
				}
			default:
				t.Fatal("the call neither completed nor failed")
			}
		})
	}
	if n < 15 {
		t.Errorf("%d fixtures, want all of provider/testdata", n)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
