package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/wire/agui"
	"github.com/sluice-events/sluice/wire/aisdk"
)

// demoServe is what serveDemo needs.
type demoServe struct {
	info       io.Writer // the URLs and progress
	log        io.Writer // the server's warnings
	frame      demoFrame
	sink       sluice.Sink // the demo's printer
	tally      *demoTally  // counts what reaches sink
	speed      float64
	db         string // SQLite file to record in; "" keeps the run in memory
	addr       string
	wait       time.Duration // before the run starts
	every      time.Duration // between the end of a run and the next; 0: one run
	meta       event.Meta
	staleAfter time.Duration // for the agent endpoints (runs.Watch)
}

// serveDemo serves a hub on d.addr with an embedded server, prints the
// commands to follow the run, waits d.wait so that someone can attach,
// runs the demo into the hub (and d.sink), and keeps serving until ctx
// ends.
func serveDemo(ctx context.Context, d demoServe) error {
	var st store.Store
	if d.db != "" {
		s, err := openDB(ctx, d.db, false)
		if err != nil {
			return err
		}
		st = s
	} else {
		s, err := memory.New()
		if err != nil {
			return err
		}
		st = s
	}
	defer st.Close()
	h, err := hub.New(st, hub.WithCoalesce(time.Millisecond))
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	// The demo agent as an AG-UI endpoint and an AI SDK chat endpoint.
	aguiAgent := func(ctx context.Context, _ agui.RunAgentInput, em *sluice.Emitter) error {
		return demoScript{em: em, speed: d.speed}.run(ctx)
	}
	aguiHandler, err := agui.Handler(h, aguiAgent, agui.WithStaleAfter(d.staleAfter))
	if err != nil {
		return err
	}
	chat, err := aisdk.NewChat(h, func(ctx context.Context, _ aisdk.ChatRequest, em *sluice.Emitter) error {
		return demoScript{em: em, speed: d.speed}.run(ctx)
	}, aisdk.WithStaleAfter(d.staleAfter))
	if err != nil {
		return err
	}
	defer chat.Close()
	srv, err := server.New(ctx, server.Config{Hub: h, Logger: slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelWarn})), ShutdownTimeout: 2 * time.Second,
		Handlers: map[string]http.Handler{
			"POST /v1/demo/agui":                aguiHandler,
			"POST /v1/demo/chat":                http.StripPrefix("/v1/demo/chat", chat),
			"GET /v1/demo/chat/{chatId}/stream": http.StripPrefix("/v1/demo/chat", chat),
			"POST /v1/demo/chat/{chatId}/stop":  http.StripPrefix("/v1/demo/chat", chat),
		}})
	if err != nil {
		return err
	}
	defer srv.Close(context.WithoutCancel(ctx))
	l, err := net.Listen("tcp", d.addr)
	if err != nil {
		return err
	}
	base := "http://" + l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	session := d.meta.SessionID
	fmt.Fprintf(d.info, "sluice demo: serving on %s (loopback only, no keys); press Ctrl-C to stop\n", base)
	fmt.Fprintf(d.info, "  watch it in a browser:  %s/\n", base)
	fmt.Fprintf(d.info, "  follow this run:        sluice tail %s --session %s\n", base, session)
	fmt.Fprintf(d.info, "                          curl -N '%s/v1/sessions/%s/stream?wait=true'\n", base, session)
	fmt.Fprintf(d.info, "  follow every session:   sluice tail %s\n", base)
	fmt.Fprintf(d.info, "  list sessions:          curl %s/v1/sessions\n", base)
	fmt.Fprintf(d.info, "  AG-UI agent:            POST %s/v1/demo/agui (a RunAgentInput)\n", base)
	fmt.Fprintf(d.info, "  AI SDK chat (useChat):  POST %s/v1/demo/chat, GET %s/v1/demo/chat/{chatId}/stream\n", base, base)
	if d.wait > 0 {
		fmt.Fprintf(d.info, "sluice demo: the run starts in %s\n", d.wait)
	}
	var runErr error
	if err := pause(ctx, d.wait); err == nil {
		d.frame.header(session)
		runErr = runDemo(ctx, sluice.Fanout(d.sink, h), d.speed, nil, d.meta)
		if runErr == nil && ctx.Err() == nil {
			d.frame.summary(d.tally, session, true)
		}
	}
	if ctx.Err() == nil {
		if si, err := st.Session(ctx, session); err == nil {
			fmt.Fprintf(d.info, "sluice demo: the run is over; session %s has %d events:\n", si.ID, si.Count)
			fmt.Fprintf(d.info, "  sluice tail %s --session %s\n", base, si.ID)
			fmt.Fprintf(d.info, "  curl %s/v1/sessions/%s/events\n", base, si.ID)
		}
		fmt.Fprintf(d.info, "sluice demo: still serving on %s; press Ctrl-C to stop\n", base)
		if d.every > 0 && runErr == nil {
			fmt.Fprintf(d.info, "sluice demo: a new run every %s; watch them at %s/\n", d.every, base)
			runErr = again(ctx, h, d)
		}
	}
	serveErr := <-served
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	return errors.Join(runErr, serveErr)
}

// pause waits d, or until ctx ends (then it returns ctx's error).
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// again runs the demo into h every d.every, each run a session of its
// own, until ctx ends; the runs are not printed.
func again(ctx context.Context, h *hub.Hub, d demoServe) error {
	for pause(ctx, d.every) == nil {
		if err := runDemo(ctx, h, d.speed, nil, newDemoMeta()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}
