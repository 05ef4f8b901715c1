package tui

import "github.com/charmbracelet/x/ansi"

// scroller shows a window of lines: the scroll-back of the open pane. Its
// cost per frame is the window's, not the content's, so a long session
// scrolls as fast as a short one.
type scroller struct {
	lines         []string
	y             int // first line shown
	width, height int
}

func (s *scroller) maxY() int { return max(len(s.lines)-s.height, 0) }

func (s *scroller) setLines(lines []string) {
	s.lines = lines
	s.y = min(s.y, s.maxY())
}

func (s *scroller) setSize(width, height int) {
	s.width, s.height = width, height
	s.y = min(s.y, s.maxY())
}

func (s *scroller) atBottom() bool { return s.y >= s.maxY() }
func (s *scroller) bottom()        { s.y = s.maxY() }
func (s *scroller) top()           { s.y = 0 }
func (s *scroller) up(n int)       { s.y = max(s.y-n, 0) }
func (s *scroller) down(n int)     { s.y = min(s.y+n, s.maxY()) }
func (s *scroller) pageUp()        { s.up(max(s.height-1, 1)) }
func (s *scroller) pageDown()      { s.down(max(s.height-1, 1)) }

// view returns the lines in the window, cut to the width.
func (s *scroller) view() []string {
	end := min(s.y+s.height, len(s.lines))
	out := make([]string, 0, s.height)
	for _, l := range s.lines[s.y:end] {
		out = append(out, ansi.Truncate(l, s.width, ""))
	}
	return out
}
