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
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/wire/agui"
	"github.com/sluice-events/sluice/wire/aisdk"
)

// serveDemo runs the demo into a hub served by an embedded server on addr,
// printing the URLs to follow it on info, and keeps serving until ctx ends.
// Events also go to sink (the demo's printer). With db, the run is recorded
// in that SQLite file; otherwise in memory.
func serveDemo(ctx context.Context, info io.Writer, sink sluice.Sink, speed float64, db, addr string) error {
	var st store.Store
	if db != "" {
		s, err := openDB(ctx, db, false)
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
		return demoScript{em: em, speed: speed}.run(ctx)
	}
	chat := aisdk.NewChat(h, func(ctx context.Context, _ aisdk.ChatRequest, em *sluice.Emitter) error {
		return demoScript{em: em, speed: speed}.run(ctx)
	})
	defer chat.Close()
	srv, err := server.New(ctx, server.Config{Hub: h, Logger: slog.New(slog.NewTextHandler(info, &slog.HandlerOptions{Level: slog.LevelWarn})), ShutdownTimeout: 2 * time.Second,
		Handlers: map[string]http.Handler{
			"POST /v1/demo/agui":                agui.Handler(h, aguiAgent),
			"POST /v1/demo/chat":                http.StripPrefix("/v1/demo/chat", chat),
			"GET /v1/demo/chat/{chatId}/stream": http.StripPrefix("/v1/demo/chat", chat),
			"POST /v1/demo/chat/{chatId}/stop":  http.StripPrefix("/v1/demo/chat", chat),
		}})
	if err != nil {
		return err
	}
	defer srv.Close(context.WithoutCancel(ctx))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	fmt.Fprintf(info, "sluice demo: serving on %s (loopback only, no keys)\n", base)
	fmt.Fprintf(info, "  follow every session:  sluice tail %s\n", base)
	fmt.Fprintf(info, "                         curl -N %s/v1/stream\n", base)
	fmt.Fprintf(info, "  list sessions:         curl %s/v1/sessions\n", base)
	fmt.Fprintf(info, "  AG-UI agent:           POST %s/v1/demo/agui (a RunAgentInput)\n", base)
	fmt.Fprintf(info, "  AI SDK chat (useChat): POST %s/v1/demo/chat, GET %s/v1/demo/chat/{chatId}/stream\n", base, base)

	runErr := runDemo(ctx, sluice.Fanout(sink, h), speed, nil)
	if ctx.Err() == nil {
		infos, _ := st.Sessions(ctx, store.SessionQuery{})
		for _, s := range infos {
			fmt.Fprintf(info, "\nsluice demo: the run is over; session %s has %d events:\n", s.ID, s.Count)
			fmt.Fprintf(info, "  sluice tail --session %s %s\n", s.ID, base)
			fmt.Fprintf(info, "  curl %s/v1/sessions/%s/events\n", base, s.ID)
		}
		fmt.Fprintf(info, "sluice demo: still serving on %s; press Ctrl-C to stop\n", base)
	}
	serveErr := <-served
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	return errors.Join(runErr, serveErr)
}
