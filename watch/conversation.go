package watch

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-events/sluice/event"
)

// Kind says what an Entry of a conversation is.
type Kind uint8

// The kinds of entries.
const (
	// System is the system prompt a conversation started with.
	System Kind = iota + 1
	// User is a user's message.
	User
	// Assistant is the assistant's text, streamed or recorded.
	Assistant
	// Thinking is the model's reasoning text.
	Thinking
	// Tool is a tool call: its arguments, then its result or error.
	Tool
	// Error is a failure: a provider call, a stream, a run.
	Error
	// Note is a line about the run: a finished provider call with its
	// tokens and cost, an interruption, events lost by a lossy consumer.
	Note
)

var kindNames = [...]string{System: "system", User: "user", Assistant: "assistant", Thinking: "thinking", Tool: "tool", Error: "error", Note: "note"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// ToolState is where a tool call is.
type ToolState string

// The states of a tool call.
const (
	// ToolStreaming: the model is still streaming the arguments.
	ToolStreaming ToolState = "streaming"
	// ToolRequested: the model asked for the call.
	ToolRequested ToolState = "requested"
	// ToolRunning: the tool is executing.
	ToolRunning ToolState = "running"
	// ToolDone: the tool returned a result.
	ToolDone ToolState = "done"
	// ToolFailed: the tool failed.
	ToolFailed ToolState = "failed"
)

// Entry is one block of a conversation on screen.
type Entry struct {
	// Kind says what the entry is.
	Kind Kind
	// Text is the message, thinking or assistant text (growing while it
	// streams), the error message, or the note.
	Text string
	// Streaming is true while deltas may still add to Text.
	Streaming bool
	// Seq is the sequence number of the event that made the entry.
	Seq uint64

	// For a Tool entry:

	// CallID and Name identify the tool call.
	CallID, Name string
	// Args is the arguments text, as streamed or as requested.
	Args string
	// Result is the tool's result (JSON or text).
	Result string
	// State is where the call is; on failure Text holds the error.
	State ToolState
	// Duration is how long the tool ran.
	Duration time.Duration
}

// blockKey names a content block being streamed: the inference it belongs
// to and its index in the message.
type blockKey struct {
	inference string
	index     int
	kind      Kind
}

// Conversation folds one session's events into the entries of its
// conversation: text from deltas, thinking, tool calls with arguments and
// results, errors. The zero Conversation is ready to use; it is not safe
// for concurrent use.
type Conversation struct {
	entries  []Entry
	open     map[blockKey]int // streaming blocks: entry index
	tools    map[string]int   // tool call ID: entry index
	streamed bool             // the assistant's message streamed since the last message.created
	lastSeq  uint64
}

// LastSeq returns the highest sequence number folded in.
func (c *Conversation) LastSeq() uint64 { return c.lastSeq }

// Entries returns the entries in the order they started. The slice is the
// Conversation's own: read it before the next Add.
func (c *Conversation) Entries() []Entry { return c.entries }

// Add folds ev in and reports whether the entries changed. An event whose
// sequence number was folded in already is skipped, so a stream that
// resumed with an overlap does not repeat text.
func (c *Conversation) Add(ev *event.Event) bool {
	if ev.Seq != 0 {
		if ev.Seq <= c.lastSeq {
			return false
		}
		c.lastSeq = ev.Seq
	}
	inf := ev.Meta.InferenceID
	switch p := ev.Payload.(type) {
	case event.ConversationStarted:
		if p.SystemPrompt == "" {
			return false
		}
		c.push(Entry{Kind: System, Text: p.SystemPrompt, Seq: ev.Seq})
	case event.MessageStarted:
		c.closeBlocks(inf)
		c.streamed = true
		return false
	case event.TextDelta:
		c.delta(ev, blockKey{inf, p.Index, Assistant}, p.Offset, p.Text)
	case event.TextCompleted:
		c.complete(ev, blockKey{inf, p.Index, Assistant}, p.Text)
	case event.ThinkingDelta:
		c.delta(ev, blockKey{inf, p.Index, Thinking}, p.Offset, p.Text)
	case event.ThinkingCompleted:
		c.complete(ev, blockKey{inf, p.Index, Thinking}, p.Text)
	case event.MessageStopped:
		c.closeBlocks(inf)
		return false
	case event.MessageCreated:
		return c.message(ev, p)
	case event.ToolCallDelta:
		e := c.tool(ev, p.CallID, p.Name, ToolStreaming)
		e.Args += p.Delta
	case event.ToolCallRequested:
		e := c.tool(ev, p.CallID, p.Name, ToolRequested)
		e.Args = string(p.Arguments)
		e.State = ToolRequested
	case event.ToolCallStarted:
		e := c.tool(ev, p.CallID, p.Name, ToolRunning)
		if len(p.Arguments) > 0 {
			e.Args = string(p.Arguments)
		}
		e.State = ToolRunning
	case event.ToolCallCompleted:
		e := c.tool(ev, p.CallID, p.Name, ToolDone)
		e.State, e.Duration, e.Result = ToolDone, p.Duration, string(p.Result)
	case event.ToolCallFailed:
		e := c.tool(ev, p.CallID, p.Name, ToolFailed)
		e.State, e.Duration, e.Text = ToolFailed, p.Duration, p.Error.Error()
	case event.ProviderCallCompleted:
		c.push(Entry{Kind: Note, Text: callNote(p), Seq: ev.Seq})
	case event.ProviderCallFailed:
		c.closeBlocks(inf)
		c.push(Entry{Kind: Error, Text: "provider call failed: " + p.Error.Error(), Seq: ev.Seq})
	case event.StreamError:
		c.push(Entry{Kind: Error, Text: "stream error: " + p.Error.Error(), Seq: ev.Seq})
	case event.StreamInterrupted:
		c.closeBlocks(inf)
		c.push(Entry{Kind: Error, Text: "stream interrupted: " + p.Reason, Seq: ev.Seq})
	case event.PipelineFailed:
		c.push(Entry{Kind: Error, Text: "pipeline failed: " + p.Error.Error(), Seq: ev.Seq})
	case event.RunFailed:
		c.push(Entry{Kind: Error, Text: "run failed: " + p.Error.Error(), Seq: ev.Seq})
	case event.RunStopped:
		c.push(Entry{Kind: Error, Text: "run stopped: " + p.Reason, Seq: ev.Seq})
	case event.Dropped:
		c.push(Entry{Kind: Note, Text: fmt.Sprintf("%d events lost (%s)", p.Count, p.Reason), Seq: ev.Seq})
	default:
		return false
	}
	return true
}

func (c *Conversation) push(e Entry) int {
	c.entries = append(c.entries, e)
	return len(c.entries) - 1
}

func (c *Conversation) delta(ev *event.Event, k blockKey, offset int64, text string) {
	c.streamed = true // message.created will repeat the text
	i, ok := c.open[k]
	if !ok {
		if c.open == nil {
			c.open = make(map[blockKey]int)
		}
		i = c.push(Entry{Kind: k.kind, Streaming: true, Seq: ev.Seq})
		c.open[k] = i
	}
	e := &c.entries[i]
	if offset > 0 && offset < int64(len(e.Text)) {
		// A repeat of text already shown (a producer that resent).
		if end := offset + int64(len(text)); end <= int64(len(e.Text)) {
			return
		}
		text = text[int64(len(e.Text))-offset:]
	}
	e.Text += text
}

func (c *Conversation) complete(ev *event.Event, k blockKey, whole string) {
	c.streamed = true // message.created will repeat the text
	if i, ok := c.open[k]; ok {
		c.entries[i].Text, c.entries[i].Streaming = whole, false
		delete(c.open, k)
		return
	}
	c.push(Entry{Kind: k.kind, Text: whole, Seq: ev.Seq})
}

// closeBlocks ends the streaming blocks of inference inf.
func (c *Conversation) closeBlocks(inf string) {
	for k, i := range c.open {
		if k.inference == inf {
			c.entries[i].Streaming = false
			delete(c.open, k)
		}
	}
}

// tool returns the entry of a tool call, made in state s if it is new.
func (c *Conversation) tool(ev *event.Event, id, name string, s ToolState) *Entry {
	if id == "" {
		id = ev.Meta.ToolCallID
	}
	if i, ok := c.tools[id]; ok && id != "" {
		e := &c.entries[i]
		if e.Name == "" {
			e.Name = name
		}
		return e
	}
	i := c.push(Entry{Kind: Tool, CallID: id, Name: name, State: s, Seq: ev.Seq})
	if id != "" {
		if c.tools == nil {
			c.tools = make(map[string]int)
		}
		c.tools[id] = i
	}
	return &c.entries[i]
}

// message folds a message added to the history. Text and tool calls that
// streamed are on screen already; a recorded message (no deltas) shows
// here.
func (c *Conversation) message(ev *event.Event, p event.MessageCreated) bool {
	switch p.Role {
	case "user":
		c.push(Entry{Kind: User, Text: p.Content, Seq: ev.Seq})
	case "system":
		c.push(Entry{Kind: System, Text: p.Content, Seq: ev.Seq})
	case "assistant":
		changed := false
		if !c.streamed && p.Content != "" {
			c.push(Entry{Kind: Assistant, Text: p.Content, Seq: ev.Seq})
			changed = true
		}
		c.streamed = false
		for _, tc := range p.ToolCalls {
			if _, ok := c.tools[tc.ID]; ok && tc.ID != "" {
				continue
			}
			e := c.tool(ev, tc.ID, tc.Name, ToolRequested)
			e.Args = string(tc.Arguments)
			changed = true
		}
		return changed
	case "tool":
		r := p.ToolResult
		if r == nil {
			c.push(Entry{Kind: Tool, Result: p.Content, State: ToolDone, Seq: ev.Seq})
			return true
		}
		e := c.tool(ev, r.CallID, r.Name, ToolDone)
		if e.State == ToolDone || e.State == ToolFailed {
			return false // the tool.call.* events told it already
		}
		e.Duration = r.Latency
		if !r.Error.IsZero() {
			e.State, e.Text = ToolFailed, r.Error.Error()
		} else {
			e.State, e.Result = ToolDone, r.Content
		}
	default:
		return false
	}
	return true
}

// callNote describes a finished provider call in one line.
func callNote(p event.ProviderCallCompleted) string {
	var b strings.Builder
	b.WriteString(p.Model)
	if p.Model == "" {
		b.WriteString(p.Provider)
	}
	fmt.Fprintf(&b, " · %d in / %d out tokens", p.Usage.InputTokens, p.Usage.OutputTokens)
	if p.CostUnknown {
		b.WriteString(" · cost unknown")
	} else if p.Cost > 0 {
		fmt.Fprintf(&b, " · $%.4f", p.Cost)
	}
	if p.Duration > 0 {
		fmt.Fprintf(&b, " · %s", p.Duration.Round(time.Millisecond))
	}
	if p.FinishReason != "" {
		fmt.Fprintf(&b, " · %s", p.FinishReason)
	}
	return b.String()
}
