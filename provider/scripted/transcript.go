package scripted

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// Transcript is one recorded response of a provider: the server-sent-event
// body of a streamed call, split into events, each with the pause before
// it. A transcript may also be a plain error response (a status and a
// body), for testing failures before streaming.
type Transcript struct {
	// Name says where the transcript came from, for error messages.
	Name string
	// Status is the HTTP status to answer with; 0 means 200.
	Status int
	// ContentType is the response's Content-Type; empty means
	// text/event-stream.
	ContentType string
	// Events are the body's events in order. For a non-streaming body,
	// one event holds the whole body.
	Events []Event
}

// Event is one event of a Transcript as it goes over the wire.
type Event struct {
	// Data is the event's bytes, its lines and the blank line that ends it
	// ("event: …\ndata: …\n\n").
	Data []byte
	// Delay is the pause before the event at speed 1.
	Delay time.Duration
	// Stall makes the server stop before this event and keep the
	// connection open, sending nothing more, until the client goes away:
	// a provider that hangs mid-stream.
	Stall bool
}

// Default pacing, used for events without a sluice-delay directive.
const (
	// FirstEventDelay is the pause before a transcript's first event: the
	// model's time to first token.
	FirstEventDelay = 300 * time.Millisecond
	// EventDelay is the pause before an event that carries no streamed
	// text (block starts and stops, usage, pings).
	EventDelay = 5 * time.Millisecond
	// ByteDelay is the pause per byte of streamed text (text, thinking,
	// tool arguments) before a delta event: about 250 bytes, or 60
	// tokens, a second.
	ByteDelay = 4 * time.Millisecond
	// MaxEventDelay caps the computed pause before one event.
	MaxEventDelay = 250 * time.Millisecond
)

// Parse reads a transcript from the text of a recorded stream: server-sent
// events as the provider sent them, separated by blank lines. Comment lines
// may carry directives for the replay, which are not sent:
//
//	: sluice-delay 120ms    the pause before the next event, at speed 1
//	: sluice-stall          stop here and hang until the client goes away
//	: sluice-status 429     (first lines only) answer with this status …
//	: sluice-content-type application/json   … and this content type;
//	                        the rest of the text is then the body, sent as is
//
// Events without a delay directive are paced as a model streams: see
// FirstEventDelay, EventDelay, ByteDelay.
func Parse(name string, data []byte) (Transcript, error) {
	t := Transcript{Name: name}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")

	// Leading directives for a plain (non-streaming) response.
	for {
		line, rest, _ := strings.Cut(text, "\n")
		if v, ok := directive(line, "sluice-status"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 999 {
				return t, fmt.Errorf("scripted: %s: bad status %q", name, v)
			}
			t.Status = n
		} else if v, ok := directive(line, "sluice-content-type"); ok {
			t.ContentType = v
		} else {
			break
		}
		text = rest
	}
	if t.ContentType != "" && !strings.HasPrefix(t.ContentType, "text/event-stream") {
		t.Events = []Event{{Data: []byte(text)}}
		return t, nil
	}

	var (
		cur      strings.Builder
		delay    time.Duration
		hasDelay bool
		stall    bool
	)
	flush := func() {
		if cur.Len() == 0 {
			return
		}
		cur.WriteString("\n")
		ev := Event{Data: []byte(cur.String()), Stall: stall}
		if hasDelay {
			ev.Delay = delay
		} else {
			ev.Delay = pace(len(t.Events) == 0, ev.Data)
		}
		t.Events = append(t.Events, ev)
		cur.Reset()
		delay, hasDelay, stall = 0, false, false
	}
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" {
			flush()
			continue
		}
		if v, ok := directive(line, "sluice-delay"); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return t, fmt.Errorf("scripted: %s: bad delay %q", name, v)
			}
			delay, hasDelay = d, true
			continue
		}
		if _, ok := directive(line, "sluice-stall"); ok {
			stall = true
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
	}
	flush()
	if stall {
		// A stall after the last event: hang before ending the body.
		t.Events = append(t.Events, Event{Stall: true})
	}
	return t, nil
}

func directive(line, name string) (string, bool) {
	rest, ok := strings.CutPrefix(line, ":")
	if !ok {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	v, ok := strings.CutPrefix(rest, name)
	if !ok || (v != "" && v[0] != ' ') {
		return "", false
	}
	return strings.TrimSpace(v), true
}

// MustParse is Parse for transcripts known to be good; it panics on error.
func MustParse(name string, data []byte) Transcript {
	t, err := Parse(name, data)
	if err != nil {
		panic(err)
	}
	return t
}

// Load reads a transcript from a file (see Parse).
func Load(file string) (Transcript, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Transcript{}, err
	}
	return Parse(file, data)
}

// LoadFS reads a transcript from a file of fsys, such as an embed.FS.
func LoadFS(fsys fs.FS, name string) (Transcript, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Transcript{}, err
	}
	return Parse(path.Base(name), data)
}

// Duration returns how long the transcript takes to replay at speed 1,
// stalls not counted.
func (t Transcript) Duration() time.Duration {
	var d time.Duration
	for _, ev := range t.Events {
		d += ev.Delay
	}
	return d
}

func (t Transcript) status() int {
	if t.Status == 0 {
		return http.StatusOK
	}
	return t.Status
}

func (t Transcript) contentType() string {
	if t.ContentType == "" {
		return "text/event-stream"
	}
	return t.ContentType
}

// pace returns the default pause before an event: the time to first token
// for the first, time proportional to the streamed text for a delta, a
// short pause otherwise.
func pace(first bool, data []byte) time.Duration {
	if first {
		return FirstEventDelay
	}
	n := streamedBytes(data)
	if n == 0 {
		return EventDelay
	}
	return min(EventDelay+time.Duration(n)*ByteDelay, MaxEventDelay)
}

// streamedBytes counts the streamed text in an event's data: Anthropic's
// delta.text / thinking / partial_json, the Responses API's delta string,
// and Chat Completions' choices[].delta content, refusal and tool call
// arguments.
func streamedBytes(data []byte) int {
	var payload bytes.Buffer
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			payload.Write(bytes.TrimPrefix(v, []byte(" ")))
		}
	}
	var body struct {
		Delta   json.RawMessage `json:"delta"`
		Choices []struct {
			Delta struct {
				Content   string `json:"content"`
				Refusal   string `json:"refusal"`
				ToolCalls []struct {
					Function struct {
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal(payload.Bytes(), &body) != nil {
		return 0
	}
	n := 0
	if len(body.Delta) > 0 {
		var s string
		var d struct {
			Text        string `json:"text"`
			Thinking    string `json:"thinking"`
			PartialJSON string `json:"partial_json"`
		}
		if json.Unmarshal(body.Delta, &s) == nil {
			n += len(s)
		} else if json.Unmarshal(body.Delta, &d) == nil {
			n += len(d.Text) + len(d.Thinking) + len(d.PartialJSON)
		}
	}
	for _, c := range body.Choices {
		n += len(c.Delta.Content) + len(c.Delta.Refusal)
		for _, tc := range c.Delta.ToolCalls {
			n += len(tc.Function.Arguments)
		}
	}
	return n
}
