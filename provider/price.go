package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/sluice-events/sluice/event"
)

// Price is what a model costs, in US dollars per million tokens.
//
// A zero CachedInput or CacheWrite means the provider gives no discount or
// surcharge for those tokens: they cost Input. A zero Reasoning means
// reasoning tokens cost Output, as they do with OpenAI and Anthropic today.
type Price struct {
	// Input is the price of input (prompt) tokens that are not cached.
	Input float64 `json:"input" yaml:"input"`
	// Output is the price of generated tokens.
	Output float64 `json:"output" yaml:"output"`
	// CachedInput is the price of input tokens read from the provider's
	// prompt cache (OpenAI cached tokens, Anthropic cache reads).
	CachedInput float64 `json:"cached_input,omitempty" yaml:"cached_input,omitempty"`
	// CacheWrite is the price of input tokens written to the prompt cache
	// (Anthropic cache creation).
	CacheWrite float64 `json:"cache_write,omitempty" yaml:"cache_write,omitempty"`
	// Reasoning is the price of hidden reasoning tokens, which are counted
	// within the output tokens.
	Reasoning float64 `json:"reasoning,omitempty" yaml:"reasoning,omitempty"`
}

// Cost returns the cost of u in US dollars.
//
// u follows the catalog's conventions: InputTokens includes cached and
// cache-written tokens (CachedTokens, CacheReadTokens, CacheCreationTokens),
// and OutputTokens includes ReasoningTokens.
func (p Price) Cost(u event.Usage) float64 {
	cached := u.CachedTokens + u.CacheReadTokens
	written := u.CacheCreationTokens
	plain := max(u.InputTokens-cached-written, 0)
	reasoning := min(u.ReasoningTokens, u.OutputTokens)
	output := u.OutputTokens

	cachedPrice := or(p.CachedInput, p.Input)
	writePrice := or(p.CacheWrite, p.Input)
	dollars := float64(plain)*p.Input + float64(cached)*cachedPrice + float64(written)*writePrice
	if p.Reasoning > 0 {
		dollars += float64(output-reasoning)*p.Output + float64(reasoning)*p.Reasoning
	} else {
		dollars += float64(output) * p.Output
	}
	return dollars / 1e6
}

func or(v, fallback float64) float64 {
	if v == 0 {
		return fallback
	}
	return v
}

func (p Price) validate() error {
	for _, v := range []float64{p.Input, p.Output, p.CachedInput, p.CacheWrite, p.Reasoning} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("prices must be finite and not negative, got %v", v)
		}
	}
	return nil
}

// Prices is a pricing table: a Price per model name. It is safe for
// concurrent use. The zero value is an empty table, and a nil *Prices knows
// no model.
//
// Lookup finds a model by its exact name, or by the name without a dated
// snapshot suffix: "gpt-4.1-2025-04-14" and "claude-sonnet-4-5-20250929"
// find the entries "gpt-4.1" and "claude-sonnet-4-5". Other suffixes do not
// match ("gpt-4o-audio-preview" does not find "gpt-4o"), so that a model
// with a different price is reported as unknown rather than priced wrongly.
type Prices struct {
	mu     sync.RWMutex
	models map[string]Price
}

// NewPrices returns a table holding a copy of models.
func NewPrices(models map[string]Price) *Prices {
	return &Prices{models: maps.Clone(models)}
}

// Set adds or replaces the price of model.
func (p *Prices) Set(model string, price Price) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.models == nil {
		p.models = make(map[string]Price)
	}
	p.models[model] = price
}

// Merge sets every entry of other in p, replacing entries of the same name.
func (p *Prices) Merge(other *Prices) {
	if other == nil {
		return
	}
	for model, price := range other.All() {
		p.Set(model, price)
	}
}

// All returns a copy of the table.
func (p *Prices) All() map[string]Price {
	if p == nil {
		return map[string]Price{}
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	m := maps.Clone(p.models)
	if m == nil {
		m = map[string]Price{}
	}
	return m
}

// Lookup returns the price of model, and whether the table knows it.
func (p *Prices) Lookup(model string) (Price, bool) {
	if p == nil || model == "" {
		return Price{}, false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if price, ok := p.models[model]; ok {
		return price, true
	}
	if base, ok := snapshotBase(model); ok {
		price, ok := p.models[base]
		return price, ok
	}
	return Price{}, false
}

// Cost returns the cost of u for model in US dollars, and false if the
// table does not know the model: the cost is then unknown, not zero.
func (p *Prices) Cost(model string, u event.Usage) (float64, bool) {
	price, ok := p.Lookup(model)
	if !ok {
		return 0, false
	}
	return price.Cost(u), true
}

// snapshotBase strips a dated snapshot suffix from a model name:
// "-2025-04-14", "-20250929", or "-latest".
func snapshotBase(model string) (string, bool) {
	if base, ok := strings.CutSuffix(model, "-latest"); ok {
		return base, true
	}
	i := strings.LastIndexByte(model, '-')
	if i < 0 {
		return "", false
	}
	// -YYYYMMDD
	if isDigits(model[i+1:], 8) {
		return model[:i], true
	}
	// -YYYY-MM-DD
	if len(model) >= 11 {
		tail := model[len(model)-11:]
		if tail[0] == '-' && isDigits(tail[1:5], 4) && tail[5] == '-' && isDigits(tail[6:8], 2) && tail[8] == '-' && isDigits(tail[9:], 2) {
			return model[:len(model)-11], true
		}
	}
	return "", false
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ErrPriceFile reports a pricing file that could not be read.
var ErrPriceFile = errors.New("provider: bad pricing file")

// LoadPrices reads a pricing table from a file: JSON if its name ends in
// .json, YAML otherwise. The file holds one object whose keys are model
// names and whose values are prices per million tokens:
//
//	# prices.yaml
//	gpt-4.1:
//	  input: 2.00
//	  cached_input: 0.50
//	  output: 8.00
//	claude-sonnet-4-5: {input: 3, cache_write: 3.75, cached_input: 0.30, output: 15}
//
// Unknown fields and negative prices are errors. To start from the built-in
// table and override it, merge: DefaultPrices().Merge(loaded).
func LoadPrices(path string) (*Prices, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	models, err := ParsePrices(data, strings.EqualFold(filepath.Ext(path), ".json"))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrPriceFile, path, err)
	}
	return NewPrices(models), nil
}

// ParsePrices parses a pricing table in the format LoadPrices reads, as
// JSON if isJSON is true and as YAML otherwise.
func ParsePrices(data []byte, isJSON bool) (map[string]Price, error) {
	models := map[string]Price{}
	if isJSON {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&models); err != nil {
			return nil, err
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&models); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	for _, model := range slices.Sorted(maps.Keys(models)) {
		if model == "" {
			return nil, errors.New("empty model name")
		}
		if err := models[model].validate(); err != nil {
			return nil, fmt.Errorf("model %s: %w", model, err)
		}
	}
	return models, nil
}

// DefaultPrices returns a new table with built-in prices for common OpenAI
// and Anthropic models, in US dollars per million tokens (standard tier,
// 5-minute cache writes for Anthropic).
//
// These figures are examples, copied from the providers' public price lists
// at the time of writing and not fetched from anywhere: check them against
// the current lists, and override them with Set or a file (LoadPrices)
// where they differ.
func DefaultPrices() *Prices {
	return NewPrices(builtinPrices)
}

var builtinPrices = map[string]Price{
	// OpenAI. Cached input is the discounted rate; reasoning tokens are
	// billed as output.
	"gpt-5":        {Input: 1.25, CachedInput: 0.125, Output: 10},
	"gpt-5-mini":   {Input: 0.25, CachedInput: 0.025, Output: 2},
	"gpt-5-nano":   {Input: 0.05, CachedInput: 0.005, Output: 0.40},
	"gpt-4.1":      {Input: 2, CachedInput: 0.50, Output: 8},
	"gpt-4.1-mini": {Input: 0.40, CachedInput: 0.10, Output: 1.60},
	"gpt-4.1-nano": {Input: 0.10, CachedInput: 0.025, Output: 0.40},
	"gpt-4o":       {Input: 2.50, CachedInput: 1.25, Output: 10},
	"gpt-4o-mini":  {Input: 0.15, CachedInput: 0.075, Output: 0.60},
	"o3":           {Input: 2, CachedInput: 0.50, Output: 8},
	"o4-mini":      {Input: 1.10, CachedInput: 0.275, Output: 4.40},
	// Anthropic. Cache writes cost 1.25 times input (5-minute TTL), cache
	// reads 0.1 times input.
	"claude-opus-4-5":   {Input: 5, CacheWrite: 6.25, CachedInput: 0.50, Output: 25},
	"claude-opus-4-1":   {Input: 15, CacheWrite: 18.75, CachedInput: 1.50, Output: 75},
	"claude-opus-4":     {Input: 15, CacheWrite: 18.75, CachedInput: 1.50, Output: 75},
	"claude-opus-4-0":   {Input: 15, CacheWrite: 18.75, CachedInput: 1.50, Output: 75},
	"claude-sonnet-4-5": {Input: 3, CacheWrite: 3.75, CachedInput: 0.30, Output: 15},
	"claude-sonnet-4":   {Input: 3, CacheWrite: 3.75, CachedInput: 0.30, Output: 15},
	"claude-sonnet-4-0": {Input: 3, CacheWrite: 3.75, CachedInput: 0.30, Output: 15},
	"claude-haiku-4-5":  {Input: 1, CacheWrite: 1.25, CachedInput: 0.10, Output: 5},
	"claude-3-7-sonnet": {Input: 3, CacheWrite: 3.75, CachedInput: 0.30, Output: 15},
	"claude-3-5-haiku":  {Input: 0.80, CacheWrite: 1, CachedInput: 0.08, Output: 4},
}
