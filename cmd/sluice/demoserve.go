package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
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
	srv, err := server.New(ctx, server.Config{Hub: h, Logger: slog.New(slog.NewTextHandler(info, &slog.HandlerOptions{Level: slog.LevelWarn})), ShutdownTimeout: 2 * time.Second})
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
