package printer

import (
	"github.com/sluice-events/sluice/event"
)

// Option configures a printer. Every printer accepts every option; an
// option that means nothing to a printer (Color for JSON) is ignored.
type Option func(*options)

type options struct {
	meta     bool
	metaSet  bool
	color    bool
	thinking bool
}

func buildOptions(metaDefault bool, opts []Option) options {
	o := options{thinking: true}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if !o.metaSet {
		o.meta = metaDefault
	}
	return o
}

// WithMeta sets whether the printer shows each event's metadata. For Text
// (off by default) it prefixes each line with the event's time, sequence
// number, ID and correlation IDs. For JSON and YAML (on by default), false
// leaves out the correlation metadata ("meta"); the ID, type, time and
// sequence number stay, so the output is still valid wire format.
func WithMeta(on bool) Option {
	return func(o *options) { o.meta, o.metaSet = on, true }
}

// WithColor sets whether Text uses ANSI colors: thinking dimmed, errors in
// red, warnings in yellow, tools in cyan. It is off by default.
func WithColor(on bool) Option {
	return func(o *options) { o.color = on }
}

// WithThinking sets whether the printer shows the model's thinking
// (message.thinking.delta and message.thinking.completed). It is on by
// default. When off, Enabled reports false for those types and Publish skips
// them.
func WithThinking(on bool) Option {
	return func(o *options) { o.thinking = on }
}

// wants reports whether a printer with options o prints events of type t.
func (o *options) wants(t event.Type) bool {
	if !o.thinking && (t == event.TypeThinkingDelta || t == event.TypeThinkingCompleted) {
		return false
	}
	return true
}
