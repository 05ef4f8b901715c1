package printer

import (
	"errors"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
)

// ErrInvalid is wrapped (with "printer: text:" and so on in front) by the
// error Text, JSON and YAML return for an invalid argument: a nil writer
// or a nil option.
var ErrInvalid = errors.New("invalid argument")

// Option configures a printer; pass options to Text, JSON or YAML. Options
// are functions over an unexported configuration, the style of every
// Sluice package: a call site names only what it changes, options can be
// added without breaking callers, and an invalid one is an error from the
// constructor, never silently ignored. Every printer accepts every option,
// so that one list of options can configure whichever printer a flag
// chooses; an option that has no effect on a printer (WithColor for JSON)
// changes nothing.
type Option func(*config) error

type config struct {
	meta     bool
	metaSet  bool
	color    bool
	thinking bool
}

// newConfig applies opts over the defaults (metadata shown if metaDefault).
func newConfig(metaDefault bool, opts []Option) (config, error) {
	c := config{thinking: true}
	if err := option.Apply(&c, opts, ErrInvalid); err != nil {
		return c, err
	}
	if !c.metaSet {
		c.meta = metaDefault
	}
	return c, nil
}

// WithMeta sets whether the printer shows each event's metadata. For Text
// (off by default) it prefixes each line with the event's time, sequence
// number, ID and correlation IDs. For JSON and YAML (on by default), false
// leaves out the correlation metadata ("meta"); the ID, type, time and
// sequence number stay, so the output is still valid wire format.
func WithMeta(on bool) Option {
	return func(c *config) error { c.meta, c.metaSet = on, true; return nil }
}

// WithColor sets whether Text uses ANSI colors: thinking dimmed, errors in
// red, warnings in yellow, tools in cyan. It is off by default.
func WithColor(on bool) Option {
	return func(c *config) error { c.color = on; return nil }
}

// WithThinking sets whether the printer shows the model's thinking
// (message.thinking.delta and message.thinking.completed). It is on by
// default. When off, Enabled reports false for those types and Publish skips
// them.
func WithThinking(on bool) Option {
	return func(c *config) error { c.thinking = on; return nil }
}

// wants reports whether a printer configured by c prints events of type t.
func (c *config) wants(t event.Type) bool {
	if !c.thinking && (t == event.TypeThinkingDelta || t == event.TypeThinkingCompleted) {
		return false
	}
	return true
}
