package event_test

import (
	"errors"
	"testing"

	"github.com/sluice-events/sluice/event"
)

func TestPatternMatch(t *testing.T) {
	cases := []struct {
		pattern string
		typ     event.Type
		want    bool
	}{
		{"tool.call.started", "tool.call.started", true},
		{"tool.call.started", "tool.call.completed", false},
		{"tool.call.*", "tool.call.started", true},
		{"tool.call.*", "tool.call", false},
		{"tool.call.*", "tool.call.a.b", false},
		{"tool.*.started", "tool.call.started", true},
		{"*.*", "agent.log", true},
		{"*.*", "message.text.delta", false},
		{"message.>", "message.text.delta", true},
		{"message.>", "message.started", true},
		{"message.>", "message", false},
		{"message.>", "messages.started", false},
		{">", "agent.log", true},
		{"*.>", "agent.log", true},
		{"tool.>", "toolx.call", false},
		{"a.b", "a.bc", false},
		{"a.bc", "a.b", false},
	}
	for _, c := range cases {
		p, err := event.ParsePattern(c.pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", c.pattern, err)
		}
		if got := p.Match(c.typ); got != c.want {
			t.Errorf("%q.Match(%q) = %v, want %v", c.pattern, c.typ, got, c.want)
		}
	}
}

func TestParsePatternErrors(t *testing.T) {
	for _, s := range []string{"", "a..b", ".a", "a.", "a.>.b", "a*.b", "a.b>"} {
		if _, err := event.ParsePattern(s); !errors.Is(err, event.ErrPattern) {
			t.Errorf("ParsePattern(%q) = %v, want ErrPattern", s, err)
		}
	}
}
