package event

import (
	"errors"
	"fmt"
	"strings"
)

// ErrPattern reports a malformed type pattern.
var ErrPattern = errors.New("invalid type pattern")

// Pattern matches event types the way NATS subjects match: segments are
// separated by dots, "*" matches exactly one segment and ">" as the last
// segment matches one or more. "tool.call.*" matches "tool.call.started";
// "message.>" matches "message.text.delta"; ">" matches every type. A pattern
// without wildcards matches only that type.
type Pattern struct {
	text  string
	exact bool
}

// All is the pattern that matches every type.
var All = Pattern{text: ">"}

// ParsePattern checks and returns the pattern s.
func ParsePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, fmt.Errorf("%w: empty", ErrPattern)
	}
	exact := true
	segs := strings.Split(s, ".")
	for i, seg := range segs {
		switch seg {
		case "":
			return Pattern{}, fmt.Errorf("%w: %q has an empty segment", ErrPattern, s)
		case "*":
			exact = false
		case ">":
			if i != len(segs)-1 {
				return Pattern{}, fmt.Errorf("%w: %q: '>' must be the last segment", ErrPattern, s)
			}
			exact = false
		default:
			if strings.ContainsAny(seg, "*>") {
				return Pattern{}, fmt.Errorf("%w: %q: wildcards must be whole segments", ErrPattern, s)
			}
		}
	}
	return Pattern{text: s, exact: exact}, nil
}

// MustPattern is like ParsePattern but panics on error; it is meant for
// patterns written in the code.
func MustPattern(s string) Pattern {
	p, err := ParsePattern(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern's text.
func (p Pattern) String() string { return p.text }

// Exact reports whether p has no wildcards, so that it matches only the
// type of the same name.
func (p Pattern) Exact() bool { return p.exact }

// IsZero reports whether p is the zero Pattern, which matches nothing.
func (p Pattern) IsZero() bool { return p.text == "" }

// Match reports whether t matches p.
func (p Pattern) Match(t Type) bool {
	if p.exact {
		return string(t) == p.text
	}
	pat, s := p.text, string(t)
	for {
		var pseg string
		pseg, pat, _ = strings.Cut(pat, ".")
		if pseg == ">" {
			return s != ""
		}
		if s == "" && pseg != "" {
			return false
		}
		var tseg string
		var more bool
		tseg, s, more = strings.Cut(s, ".")
		if pseg != "*" && pseg != tseg {
			return false
		}
		if pat == "" {
			return !more
		}
		if !more {
			// the type ran out while the pattern goes on
			return false
		}
	}
}
