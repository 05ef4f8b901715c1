package sluicemcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/jsonvalue"
	"github.com/sluice-events/sluice/internal/option"
)

// ErrInvalid is wrapped by the errors that constructors return for an
// invalid argument or option.
var ErrInvalid = errors.New("invalid argument")

// ErrToolResult is wrapped by the error of a tool.mcp.call.failed event
// when the call itself succeeded but the tool reported an error (a result
// with IsError set); the message is the result's text.
var ErrToolResult = errors.New("tool returned an error result")

// Option configures Instrument.
type Option func(*clientConfig) error

type clientConfig struct {
	server string
}

// WithServer sets the server label of the events (the Server field of
// tool.mcp.* events). An empty label is an error.
func WithServer(label string) Option {
	return func(c *clientConfig) error {
		if label == "" {
			return fmt.Errorf("%w: empty server label", ErrInvalid)
		}
		c.server = label
		return nil
	}
}

// Instrument adds middleware to client so that the tool calls and tool
// listings it sends, and the progress notifications it receives, become
// Sluice events, through the emitter of the calling context
// (sluice.EmitterFrom):
//
//   - tools/call: tool.mcp.call.started with the tool's name and
//     arguments, then tool.mcp.call.completed with the result's text and
//     the duration, or tool.mcp.call.failed with the error (the transport's
//     or, for a result with IsError set, one wrapping ErrToolResult) and
//     the duration. The events carry a new call ID as item_id and as
//     Meta.ToolCallID, with the context's emitter as parent;
//   - progress notifications for a call become tool.mcp.call.progress
//     events of that call (progress, total, message). A call without a
//     progress token is given one (its call ID), so that the server can
//     report progress. The SDK hands notifications to the client on a
//     queue of their own, after the results it reads before them, so the
//     last progress events of a call can follow its completion;
//   - tools/list: tool.mcp.list.started, then tool.mcp.list.completed with
//     the tools and the duration, or tool.mcp.list.failed.
//
// Calls whose context carries no emitter are passed on untouched. Call
// Instrument before connecting; an invalid option is an error wrapping
// ErrInvalid.
func Instrument(client *mcp.Client, opts ...Option) error {
	if client == nil {
		return fmt.Errorf("sluicemcp: instrument: %w: nil client", ErrInvalid)
	}
	var c clientConfig
	if err := option.Apply(&c, opts, ErrInvalid); err != nil {
		return fmt.Errorf("sluicemcp: instrument: %w", err)
	}
	in := &instrumented{server: c.server, calls: make(map[string]*call)}
	client.AddSendingMiddleware(in.sending)
	client.AddReceivingMiddleware(in.receiving)
	return nil
}

type instrumented struct {
	server string

	mu       sync.Mutex
	calls    map[string]*call // by progress token: calls in flight and the last finished
	finished []string         // the tokens of finished calls still in calls, oldest first
}

// keepFinished is how many finished calls keep their progress token: the
// SDK hands notifications to the client on a queue of their own, so a
// call's last progress notifications can come after its result.
const keepFinished = 256

// finish marks the call of token finished, and forgets the oldest finished
// call beyond keepFinished.
func (in *instrumented) finish(token string, c *call) {
	in.mu.Lock()
	defer in.mu.Unlock()
	c.running = false
	in.finished = append(in.finished, token)
	if len(in.finished) > keepFinished {
		old := in.finished[0]
		in.finished = in.finished[1:]
		if in.calls[old] != nil && !in.inFlight(old) {
			delete(in.calls, old)
		}
	}
}

// inFlight reports whether token is (again) the token of a call in flight:
// a token a caller set itself may be reused.
func (in *instrumented) inFlight(token string) bool {
	return in.calls[token] != nil && in.calls[token].running
}

// call is a tool call in flight, for its progress notifications.
type call struct {
	id      string
	em      *sluice.Emitter
	running bool
}

func (in *instrumented) sending(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		em := sluice.EmitterFrom(ctx)
		if em == nil {
			return next(ctx, method, req)
		}
		switch p := req.GetParams().(type) {
		case *mcp.CallToolParams:
			if method == "tools/call" {
				return in.callTool(ctx, em, p, method, req, next)
			}
		case *mcp.ListToolsParams:
			if method == "tools/list" {
				return in.listTools(ctx, em, method, req, next)
			}
		}
		return next(ctx, method, req)
	}
}

func (in *instrumented) callTool(ctx context.Context, em *sluice.Emitter, p *mcp.CallToolParams, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	id := event.NewID().String()
	em = em.ToolCall(id)
	if p.GetProgressToken() == nil {
		p.SetProgressToken(id)
	}
	token := fmt.Sprint(p.GetProgressToken())
	c := &call{id: id, em: em, running: true}
	in.mu.Lock()
	in.calls[token] = c
	in.mu.Unlock()
	defer in.finish(token, c)

	if em.Enabled(ctx, event.TypeMCPCallStarted) {
		_ = sluice.Emit(ctx, em, event.MCPCallStarted{ItemID: id, Server: in.server, Name: p.Name, Arguments: jsonvalue.Of(p.Arguments)})
	}
	start := time.Now()
	res, err := next(ctx, method, req)
	d := time.Since(start)
	r, _ := res.(*mcp.CallToolResult)
	switch {
	case err != nil:
		_ = sluice.Emit(ctx, em, event.MCPCallFailed{ItemID: id, Server: in.server, Name: p.Name, Error: event.ErrorFrom(err), Duration: d})
	case r != nil && r.IsError:
		e := event.ErrorFrom(fmt.Errorf("%w: %s", ErrToolResult, text(r)))
		e.Kind = "tool"
		_ = sluice.Emit(ctx, em, event.MCPCallFailed{ItemID: id, Server: in.server, Name: p.Name, Error: e, Duration: d})
	default:
		var out string
		if r != nil && em.Enabled(ctx, event.TypeMCPCallCompleted) {
			out = text(r)
		}
		_ = sluice.Emit(ctx, em, event.MCPCallCompleted{ItemID: id, Server: in.server, Name: p.Name, Output: out, Duration: d})
	}
	return res, err
}

func (in *instrumented) listTools(ctx context.Context, em *sluice.Emitter, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	id := event.NewID().String()
	_ = sluice.Emit(ctx, em, event.MCPListStarted{ItemID: id, Server: in.server})
	start := time.Now()
	res, err := next(ctx, method, req)
	d := time.Since(start)
	if err != nil {
		_ = sluice.Emit(ctx, em, event.MCPListFailed{ItemID: id, Server: in.server, Error: event.ErrorFrom(err), Duration: d})
		return res, err
	}
	var tools json.RawMessage
	if r, ok := res.(*mcp.ListToolsResult); ok && em.Enabled(ctx, event.TypeMCPListCompleted) {
		tools = jsonvalue.Of(r.Tools)
	}
	_ = sluice.Emit(ctx, em, event.MCPListCompleted{ItemID: id, Server: in.server, Tools: tools, Duration: d})
	return res, err
}

func (in *instrumented) receiving(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if p, ok := req.GetParams().(*mcp.ProgressNotificationParams); ok && p != nil {
			in.mu.Lock()
			c := in.calls[fmt.Sprint(p.ProgressToken)]
			in.mu.Unlock()
			if c != nil {
				_ = sluice.Emit(ctx, c.em, event.MCPCallProgress{ItemID: c.id, Status: "in_progress",
					Progress: p.Progress, Total: p.Total, Message: p.Message})
			}
		}
		return next(ctx, method, req)
	}
}

// text is the text content of a tool result, or its structured content as
// JSON when it has no text.
func text(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(t.Text)
		}
	}
	if b.Len() == 0 && r.StructuredContent != nil {
		return string(jsonvalue.Of(r.StructuredContent))
	}
	return b.String()
}
