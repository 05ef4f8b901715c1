package provider_test

import (
	"fmt"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
)

// A pricing table gives each call its cost; a model it does not know has
// an unknown cost, not a cost of zero.
func ExamplePrices() {
	prices := provider.DefaultPrices()                                   // examples: check them
	prices.Set("my-finetune", provider.Price{Input: 0.30, Output: 1.20}) // override in code
	usage := event.Usage{InputTokens: 12_000, CachedTokens: 8_000, OutputTokens: 500}

	for _, model := range []string{"gpt-4.1-2025-04-14", "my-finetune", "gpt-9"} {
		if cost, ok := prices.Cost(model, usage); ok {
			fmt.Printf("%s: $%.4f\n", model, cost)
		} else {
			fmt.Printf("%s: unknown\n", model)
		}
	}
	// Output:
	// gpt-4.1-2025-04-14: $0.0160
	// my-finetune: $0.0042
	// gpt-9: unknown
}
