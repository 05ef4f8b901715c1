package provider_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestLookupSnapshots(t *testing.T) {
	p := provider.DefaultPrices()
	for model, base := range map[string]string{
		"gpt-4.1":                    "gpt-4.1",
		"gpt-4.1-2025-04-14":         "gpt-4.1",
		"gpt-4.1-mini-2025-04-14":    "gpt-4.1-mini",
		"gpt-4o-mini":                "gpt-4o-mini",
		"claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
		"claude-sonnet-4-20250514":   "claude-sonnet-4",
		"claude-3-7-sonnet-latest":   "claude-3-7-sonnet",
	} {
		got, ok := p.Lookup(model)
		want, _ := p.Lookup(base)
		if !ok || got != want {
			t.Errorf("%s: %+v %v, want the price of %s", model, got, ok, base)
		}
	}
	for _, model := range []string{"", "gpt-4o-audio-preview", "gpt-4.1-20", "my-model", "claude-sonnet-4-5-x"} {
		if _, ok := p.Lookup(model); ok {
			t.Errorf("%q is priced", model)
		}
	}
	var none *provider.Prices
	if _, ok := none.Cost("gpt-4o", event.Usage{InputTokens: 1}); ok {
		t.Error("a nil table priced a model")
	}
}

func TestPriceCost(t *testing.T) {
	p := provider.Price{Input: 3, Output: 15, CachedInput: 0.30, CacheWrite: 3.75}
	u := event.Usage{InputTokens: 1000 + 200 + 300, CacheCreationTokens: 200, CacheReadTokens: 300, OutputTokens: 50}
	if got, want := p.Cost(u), (1000*3+200*3.75+300*0.30+50*15)/1e6; !near(got, want) {
		t.Errorf("cost %v, want %v", got, want)
	}
	// No cached price: cached tokens cost input. A reasoning price applies
	// to the reasoning share of the output.
	q := provider.Price{Input: 1, Output: 4, Reasoning: 8}
	u = event.Usage{InputTokens: 100, CachedTokens: 60, OutputTokens: 30, ReasoningTokens: 10}
	if got, want := q.Cost(u), (100*1+20*4+10*8)/1e6; !near(got, want) {
		t.Errorf("cost %v, want %v", got, want)
	}
}

func TestSetAndMergeOverride(t *testing.T) {
	p := provider.DefaultPrices()
	p.Set("gpt-4o", provider.Price{Input: 1, Output: 2})
	p.Set("my-finetune", provider.Price{Input: 5, Output: 5})
	if c, ok := p.Cost("gpt-4o-2024-08-06", event.Usage{InputTokens: 1e6, OutputTokens: 1e6}); !ok || !near(c, 3) {
		t.Errorf("override: %v %v", c, ok)
	}
	other := provider.NewPrices(map[string]provider.Price{"my-finetune": {Input: 1, Output: 1}})
	p.Merge(other)
	if c, _ := p.Cost("my-finetune", event.Usage{InputTokens: 1e6}); !near(c, 1) {
		t.Errorf("merged: %v", c)
	}
	if provider.DefaultPrices().All()["gpt-4o"].Input == 1 {
		t.Error("Set changed the built-in table")
	}
}

func TestLoadPrices(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	yml := write("prices.yaml", "gpt-4.1:\n  input: 2\n  cached_input: 0.5\n  output: 8\nclaude-x: {input: 3, cache_write: 3.75, cached_input: 0.3, output: 15}\n")
	js := write("prices.json", `{"gpt-4.1": {"input": 2, "cached_input": 0.5, "output": 8}, "claude-x": {"input": 3, "cache_write": 3.75, "cached_input": 0.3, "output": 15}}`)
	for _, path := range []string{yml, js} {
		p, err := provider.LoadPrices(path)
		if err != nil {
			t.Fatal(err)
		}
		all := p.All()
		if len(all) != 2 || all["gpt-4.1"] != (provider.Price{Input: 2, CachedInput: 0.5, Output: 8}) || all["claude-x"].CacheWrite != 3.75 {
			t.Errorf("%s: %+v", path, all)
		}
	}
	for name, text := range map[string]string{
		"typo.yaml":     "gpt-4.1: {input: 2, cache_read: 1}\n",
		"typo.json":     `{"gpt-4.1": {"input": 2, "cache_read": 1}}`,
		"negative.yaml": "m: {input: -1}\n",
		"notmap.json":   `[1, 2]`,
	} {
		_, err := provider.LoadPrices(write(name, text))
		if !errors.Is(err, provider.ErrPriceFile) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if p, err := provider.LoadPrices(write("empty.yaml", "")); err != nil || len(p.All()) != 0 {
		t.Errorf("empty file: %v", err)
	}
	if _, err := provider.LoadPrices(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestErrorTravelsAsEventError(t *testing.T) {
	err := &provider.Error{Provider: "anthropic", Code: "overloaded_error", Message: "Overloaded", Retryable: true, Err: errors.New("sdk")}
	if err.Error() != "anthropic: overloaded_error: Overloaded" {
		t.Errorf("Error() = %q", err.Error())
	}
	got := event.ErrorFrom(err)
	want := event.Error{Message: "anthropic: Overloaded", Code: "overloaded_error", Kind: "provider", Retryable: true}
	if got != want {
		t.Errorf("ErrorFrom = %+v, want %+v", got, want)
	}
	http := &provider.Error{Provider: "openai", StatusCode: 503, Message: "busy"}
	if http.Error() != "openai: HTTP 503: busy" || event.ErrorFrom(http).Code != "503" {
		t.Errorf("%q %+v", http.Error(), event.ErrorFrom(http))
	}
	p := provider.Protocol("openai", "item %q missing", "x")
	if !errors.Is(p, provider.ErrProtocol) || p.Code != provider.CodeProtocol || p.Retryable {
		t.Errorf("%+v", p)
	}
	in := provider.Incomplete("openai", "the end", errors.New("reset"))
	if !errors.Is(in, provider.ErrIncomplete) || !in.Retryable || in.Message != "connection closed before the end: reset" {
		t.Errorf("%+v", in)
	}
}
