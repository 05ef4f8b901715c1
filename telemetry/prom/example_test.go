package prom_test

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/telemetry/prom"
)

// A Sink counts the calls of the events published through it; register it
// with a Prometheus registry (or the server's Config.Collectors) to expose
// the series.
func ExampleNew() {
	m, _ := prom.New()
	em := sluice.NewEmitter(m, event.Meta{Provider: "openai", Model: "gpt-5"})
	_ = em.ProviderCallCompleted(context.Background(), event.ProviderCallCompleted{
		Duration: time.Second, Cost: 0.002, Usage: event.Usage{InputTokens: 120, OutputTokens: 30}})

	fmt.Println(testutil.CollectAndCount(m, "sluice_genai_tokens_total"), "token series")
	fmt.Println(testutil.CollectAndCount(m, "sluice_genai_calls_total"), "call series")
	// Output:
	// 2 token series
	// 1 call series
}
