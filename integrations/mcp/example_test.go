package sluicemcp_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	sluicemcp "github.com/sluice-events/sluice/integrations/mcp"
	"github.com/sluice-events/sluice/store/sqlite"
)

// Instrument a client: its tool calls, with their progress, become events
// of the emitter in the calling context.
func ExampleInstrument() {
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := newServer().Connect(ctx, st, nil)
	if err != nil {
		panic(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1"}, nil)
	if err := sluicemcp.Instrument(client, sluicemcp.WithServer("tools")); err != nil {
		panic(err)
	}
	cs, err := client.Connect(ctx, ct, nil)
	if err != nil {
		panic(err)
	}

	print := sluice.SinkFunc(func(ctx context.Context, ev *event.Event) error {
		if ev.Type != event.TypeMCPCallProgress { // progress may come late: see Instrument
			fmt.Println(ev.Type)
		}
		return nil
	})
	ctx = sluice.WithEmitter(ctx, sluice.NewEmitter(print, event.Meta{RunID: "run-1"}))
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	_ = cs.Close()
	_ = ss.Wait()
	// Output:
	// tool.mcp.call.started
	// tool.mcp.call.completed
	// hi
}

// Serve an MCP server over streamable HTTP with its sessions and streams
// in a SQLite log, so that they survive a restart.
func ExampleNewHandler() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sluicemcp")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	log, err := sqlite.Open(ctx, filepath.Join(dir, "mcp.db"))
	if err != nil {
		panic(err)
	}
	defer log.Close()
	events, err := sluicemcp.NewEventStore(log)
	if err != nil {
		panic(err)
	}
	h, err := sluicemcp.NewHandler(newServer(), events)
	if err != nil {
		panic(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()

	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL}, nil)
	if err != nil {
		panic(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "count", Arguments: map[string]any{"to": 2}})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	// Output:
	// counted to 2
}
