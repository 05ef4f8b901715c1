package prom_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/sinktest"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/telemetry/prom"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func calls(t testing.TB, s sluice.Sink) {
	t.Helper()
	ctx := context.Background()
	em := sluice.NewEmitter(s, event.Meta{RunID: "r1", Provider: "anthropic", Model: "claude-sonnet-4-5"})
	for range 2 {
		if err := em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: "anthropic", Model: "claude-sonnet-4-5-20250929",
			Duration: 300 * time.Millisecond, Cost: 0.01,
			Usage: event.Usage{InputTokens: 100, OutputTokens: 20, CacheReadTokens: 60, CacheCreationTokens: 5, ReasoningTokens: 7}}); err != nil {
			t.Fatal(err)
		}
	}
	_ = em.ProviderCallFailed(ctx, "anthropic", "claude-sonnet-4-5", time.Second, event.Error{Message: "slow down", Code: "rate_limit_error"})
	_ = em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: "anthropic", Model: "x", CostUnknown: true})
	_ = em.ToolCallCompleted(ctx, "c1", "get_weather", 50*time.Millisecond, nil)
	_ = em.ToolCallFailed(ctx, "c2", "get_weather", 10*time.Millisecond, errors.New("no such city"))
}

func TestSeries(t *testing.T) {
	m, err := prom.New(prom.WithConstLabels(prometheus.Labels{"service": "demo"}))
	if err != nil {
		t.Fatal(err)
	}
	calls(t, m)
	want := `
# HELP sluice_genai_calls_total Provider calls that ended (completed or failed).
# TYPE sluice_genai_calls_total counter
sluice_genai_calls_total{model="claude-sonnet-4-5",provider="anthropic",service="demo"} 4
# HELP sluice_genai_cost_usd_total Cost of completed provider calls with a known price, in US dollars.
# TYPE sluice_genai_cost_usd_total counter
sluice_genai_cost_usd_total{model="claude-sonnet-4-5",provider="anthropic",service="demo"} 0.02
# HELP sluice_genai_errors_total Provider calls that failed, by error type (the error's code, else its kind).
# TYPE sluice_genai_errors_total counter
sluice_genai_errors_total{error_type="rate_limit_error",model="claude-sonnet-4-5",provider="anthropic",service="demo"} 1
# HELP sluice_tool_calls_total Tool calls that ended (completed or failed).
# TYPE sluice_tool_calls_total counter
sluice_tool_calls_total{service="demo",tool="get_weather"} 2
# HELP sluice_tool_failures_total Tool calls that failed.
# TYPE sluice_tool_failures_total counter
sluice_tool_failures_total{service="demo",tool="get_weather"} 1
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "sluice_genai_calls_total", "sluice_genai_cost_usd_total",
		"sluice_genai_errors_total", "sluice_tool_calls_total", "sluice_tool_failures_total"); err != nil {
		t.Error(err)
	}
	tokens := map[string]float64{"input": 200, "output": 40, "cache_read": 120, "cache_creation": 10, "reasoning": 14}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "sluice_genai_tokens_total":
			for _, mt := range mf.GetMetric() {
				for _, l := range mt.GetLabel() {
					if l.GetName() == "type" && mt.GetCounter().GetValue() != tokens[l.GetValue()] {
						t.Errorf("tokens %s = %v, want %v", l.GetValue(), mt.GetCounter().GetValue(), tokens[l.GetValue()])
					}
				}
			}
			if len(mf.GetMetric()) != len(tokens) {
				t.Errorf("%d token series, want %d", len(mf.GetMetric()), len(tokens))
			}
		case "sluice_genai_call_duration_seconds":
			if c := mf.GetMetric()[0].GetHistogram().GetSampleCount(); c != 4 {
				t.Errorf("%d call durations, want 4", c)
			}
		case "sluice_tool_duration_seconds":
			if h := mf.GetMetric()[0].GetHistogram(); h.GetSampleCount() != 2 || math.Abs(h.GetSampleSum()-0.06) > 1e-9 {
				t.Errorf("tool durations %d, sum %v; want 2, 0.06", h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []prom.Option{nil, prom.WithBuckets(), prom.WithBuckets(1, 1)} {
		if _, err := prom.New(o); !errors.Is(err, prom.ErrInvalid) {
			t.Errorf("New(bad option) = %v, want ErrInvalid", err)
		}
	}
}

// The suite publishes none of the types the Sink counts: it checks that
// the Sink takes the others quietly and is safe for concurrent use.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		m, err := prom.New()
		if err != nil {
			t.Fatal(err)
		}
		return sinktest.Harness{Sink: m, Delivered: func() []event.Event { return nil }}
	})
}

// A Sink given to the server's Config.Collectors is on /metrics beside the
// server's own series.
func TestServerMetrics(t *testing.T) {
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	m, err := prom.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(t.Context(), server.Config{Hub: h, Collectors: []prometheus.Collector{m}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	if _, err := server.New(t.Context(), server.Config{Hub: h, Collectors: []prometheus.Collector{m, m}}); err == nil {
		t.Error("a collector given twice was accepted")
	}
	calls(t, m)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`sluice_genai_tokens_total{model="claude-sonnet-4-5",provider="anthropic",type="input"} 200`, "sluice_server_events_ingested_total"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics (%d) lacks %s", resp.StatusCode, want)
		}
	}
}

// TestLabelValuesAreBounded: events can carry any model or tool name, and
// anyone who may ingest can send them, so the series stay bounded: past
// WithMaxValues, values are counted as "other" and totals stay right.
func TestLabelValuesAreBounded(t *testing.T) {
	s, err := prom.New(prom.WithMaxValues(3))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 10 {
		em := sluice.NewEmitter(s, event.Meta{Provider: "p", Model: fmt.Sprint("model-", i)})
		if err := em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: "p", Model: fmt.Sprint("model-", i), Usage: event.Usage{InputTokens: 1}}); err != nil {
			t.Fatal(err)
		}
		tool := event.New(event.ToolCallCompleted{CallID: fmt.Sprint("c", i), Name: strings.Repeat("t", 200) + fmt.Sprint(i)}, event.Meta{})
		if err := s.Publish(ctx, &tool); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	if n := testutil.CollectAndCount(s, "sluice_genai_calls_total"); n != 4 {
		t.Errorf("%d call series, want 3 models and other", n)
	}
	// The ten tool names share their first 128 bytes, where they are cut.
	if n := testutil.CollectAndCount(s, "sluice_tool_calls_total"); n != 1 {
		t.Errorf("%d tool series, want one: the names' common 128-byte prefix", n)
	}
	want := "\n# HELP sluice_genai_calls_total Provider calls that ended (completed or failed).\n# TYPE sluice_genai_calls_total counter\n" +
		"sluice_genai_calls_total{model=\"model-0\",provider=\"p\"} 1\nsluice_genai_calls_total{model=\"model-1\",provider=\"p\"} 1\n" +
		"sluice_genai_calls_total{model=\"model-2\",provider=\"p\"} 1\nsluice_genai_calls_total{model=\"other\",provider=\"other\"} 7\n"
	if err := testutil.CollectAndCompare(s, strings.NewReader(want), "sluice_genai_calls_total"); err != nil {
		t.Error(err)
	}
	if _, err := prom.New(prom.WithMaxValues(0)); !errors.Is(err, prom.ErrInvalid) {
		t.Errorf("WithMaxValues(0) = %v", err)
	}
}
