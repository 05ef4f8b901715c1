// Package prom aggregates Sluice events into Prometheus series: per
// provider and model, tokens by type, cost, calls and errors, and call
// durations; per tool, calls, failures and durations.
//
//	m, err := prom.New()
//	reg.MustRegister(m)                       // or server.Config{Collectors: …}
//	sink := sluice.Fanout(m, otherSinks…)     // or subscribe it to a bus
//
// A Sink counts every event it is given, independently of any trace
// sampling. All series are named sluice_genai_* and sluice_tool_*.
//
// Label values come from events, and on a server from whoever may ingest
// them, so a Sink bounds them: at most WithMaxValues (default 1,000)
// distinct provider/model pairs, tools and error types each, every value
// cut to 128 bytes; values beyond the bound are counted under "other", so
// totals stay right and the number of series stays bounded.
package prom

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/telemetry"
)

// ErrInvalid is wrapped by the error New returns for an invalid option.
var ErrInvalid = errors.New("invalid argument")

// Option configures a Sink.
type Option func(*config) error

type config struct {
	buckets   []float64
	labels    prometheus.Labels
	maxValues int
}

// Other is the label value that stands for every value past the bound of
// WithMaxValues.
const Other = "other"

// maxLabelLen is the longest label value kept, in bytes.
const maxLabelLen = 128

// WithMaxValues bounds the distinct values of each label kind: provider and
// model pairs, tool names, error types (default 1,000). Later values are
// counted as Other.
func WithMaxValues(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: WithMaxValues(%d): want at least 1", ErrInvalid, n)
		}
		c.maxValues = n
		return nil
	}
}

// bounded admits at most max distinct values; later ones become Other.
type bounded struct {
	mu   sync.Mutex
	max  int
	seen map[string]struct{}
}

func (b *bounded) value(v string) string {
	if len(v) > maxLabelLen {
		v = strings.ToValidUTF8(v[:maxLabelLen], "")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[v]; ok {
		return v
	}
	if len(b.seen) >= b.max {
		return Other
	}
	b.seen[v] = struct{}{}
	return v
}

// pair admits a provider and model together.
func (b *bounded) pair(prov, model string) (string, string) {
	if len(prov) > maxLabelLen {
		prov = strings.ToValidUTF8(prov[:maxLabelLen], "")
	}
	if len(model) > maxLabelLen {
		model = strings.ToValidUTF8(model[:maxLabelLen], "")
	}
	if b.value(prov+"\x00"+model) == Other {
		return Other, Other
	}
	return prov, model
}

// WithBuckets sets the histogram buckets of the call and tool durations,
// in seconds (default: the GenAI conventions' advice, 10 ms to 82 s).
func WithBuckets(b ...float64) Option {
	return func(c *config) error {
		if len(b) == 0 {
			return fmt.Errorf("%w: no buckets", ErrInvalid)
		}
		for i := 1; i < len(b); i++ {
			if b[i] <= b[i-1] {
				return fmt.Errorf("%w: buckets must increase", ErrInvalid)
			}
		}
		c.buckets = b
		return nil
	}
}

// WithConstLabels adds labels with fixed values to every series, such as
// the name of the service.
func WithConstLabels(l prometheus.Labels) Option {
	return func(c *config) error {
		c.labels = l
		return nil
	}
}

// Sink counts provider and tool calls. It is a sluice.Sink and a
// prometheus.Collector; register it with a registry to expose its series.
type Sink struct {
	tokens    *prometheus.CounterVec
	cost      *prometheus.CounterVec
	calls     *prometheus.CounterVec
	errs      *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	toolCalls *prometheus.CounterVec
	toolFails *prometheus.CounterVec
	toolDur   *prometheus.HistogramVec
	all       []prometheus.Collector

	models, tools, errTypes *bounded
}

// Token types, the values of the type label of sluice_genai_tokens_total.
const (
	TokenInput         = "input"
	TokenOutput        = "output"
	TokenCacheRead     = "cache_read"
	TokenCacheCreation = "cache_creation"
	TokenReasoning     = "reasoning"
)

// New returns a Sink with its series at zero.
func New(opts ...Option) (*Sink, error) {
	c := config{buckets: []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}, maxValues: 1000}
	if err := option.Apply(&c, opts, ErrInvalid); err != nil {
		return nil, fmt.Errorf("prom: new: %w", err)
	}
	pm := []string{"provider", "model"}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: c.labels}, labels)
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, ConstLabels: c.labels, Buckets: c.buckets}, labels)
	}
	s := &Sink{
		tokens:    counter("sluice_genai_tokens_total", "Tokens used by completed provider calls, by provider, model and type (input, output, cache_read, cache_creation, reasoning; cache and reasoning tokens are also counted in input and output).", "provider", "model", "type"),
		cost:      counter("sluice_genai_cost_usd_total", "Cost of completed provider calls with a known price, in US dollars.", pm...),
		calls:     counter("sluice_genai_calls_total", "Provider calls that ended (completed or failed).", pm...),
		errs:      counter("sluice_genai_errors_total", "Provider calls that failed, by error type (the error's code, else its kind).", "provider", "model", "error_type"),
		duration:  histogram("sluice_genai_call_duration_seconds", "Wall time of provider calls, streaming included.", pm...),
		toolCalls: counter("sluice_tool_calls_total", "Tool calls that ended (completed or failed).", "tool"),
		toolFails: counter("sluice_tool_failures_total", "Tool calls that failed.", "tool"),
		toolDur:   histogram("sluice_tool_duration_seconds", "How long tool calls ran.", "tool"),
	}
	newBounded := func() *bounded { return &bounded{max: c.maxValues, seen: map[string]struct{}{}} }
	s.models, s.tools, s.errTypes = newBounded(), newBounded(), newBounded()
	s.all = []prometheus.Collector{s.tokens, s.cost, s.calls, s.errs, s.duration, s.toolCalls, s.toolFails, s.toolDur}
	return s, nil
}

// Describe implements prometheus.Collector.
func (s *Sink) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range s.all {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (s *Sink) Collect(ch chan<- prometheus.Metric) {
	for _, c := range s.all {
		c.Collect(ch)
	}
}

// Enabled implements sluice.Sink: it reports true for the ends of provider
// calls and tool calls.
func (s *Sink) Enabled(_ context.Context, t event.Type) bool {
	switch t {
	case event.TypeProviderCallCompleted, event.TypeProviderCallFailed,
		event.TypeToolCallCompleted, event.TypeToolCallFailed:
		return true
	}
	return false
}

// Publish implements sluice.Sink by counting ev. It fails only for a nil
// event.
func (s *Sink) Publish(_ context.Context, ev *event.Event) error {
	if ev == nil {
		return fmt.Errorf("prom: publish: %w", sluice.ErrNilEvent)
	}
	switch p := ev.Payload.(type) {
	case event.ProviderCallCompleted:
		prov, model := s.models.pair(cmp.Or(ev.Meta.Provider, p.Provider), cmp.Or(ev.Meta.Model, p.Model))
		s.calls.WithLabelValues(prov, model).Inc()
		s.duration.WithLabelValues(prov, model).Observe(p.Duration.Seconds())
		u := p.Usage
		for _, t := range [...]struct {
			name string
			n    int64
		}{{TokenInput, u.InputTokens}, {TokenOutput, u.OutputTokens}, {TokenCacheRead, u.CacheReadTokens + u.CachedTokens},
			{TokenCacheCreation, u.CacheCreationTokens}, {TokenReasoning, u.ReasoningTokens}} {
			if t.n > 0 {
				s.tokens.WithLabelValues(prov, model, t.name).Add(float64(t.n))
			}
		}
		if !p.CostUnknown && p.Cost > 0 {
			s.cost.WithLabelValues(prov, model).Add(p.Cost)
		}
	case event.ProviderCallFailed:
		prov, model := s.models.pair(cmp.Or(ev.Meta.Provider, p.Provider), cmp.Or(ev.Meta.Model, p.Model))
		s.calls.WithLabelValues(prov, model).Inc()
		s.errs.WithLabelValues(prov, model, s.errTypes.value(telemetry.ErrorType(p.Error))).Inc()
		s.duration.WithLabelValues(prov, model).Observe(p.Duration.Seconds())
	case event.ToolCallCompleted:
		tool := s.tools.value(p.Name)
		s.toolCalls.WithLabelValues(tool).Inc()
		s.toolDur.WithLabelValues(tool).Observe(p.Duration.Seconds())
	case event.ToolCallFailed:
		tool := s.tools.value(p.Name)
		s.toolCalls.WithLabelValues(tool).Inc()
		s.toolFails.WithLabelValues(tool).Inc()
		s.toolDur.WithLabelValues(tool).Observe(p.Duration.Seconds())
	}
	return nil
}
