package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-events/sluice/wire"
)

// SSE event names the server sends besides event types. Event types always
// contain a dot, so these never collide with one.
const (
	// SSEReconnect is the last frame of a stream the server ends on
	// purpose (shutdown): reconnect after the retry: hint with
	// Last-Event-ID, and the stream goes on where it stopped.
	SSEReconnect = "reconnect"
	// SSEError is the last frame of a stream that failed on the server's
	// side; its data is a JSON error body. Reconnecting resumes it.
	SSEError = "error"
)

// frameFunc appends one event's frame.
type frameFunc func(b []byte, fr *frame) []byte

// sseFrame writes id: cursor, event: type, data: the event's JSON.
func sseFrame(b []byte, fr *frame) []byte {
	var id [20]byte
	return wire.AppendFrame(b, string(strconv.AppendUint(id[:0], fr.cursor, 10)), string(fr.typ), fr.json)
}

// sessionStream handles GET /v1/sessions/{id}/stream.
func (s *Server) sessionStream(w http.ResponseWriter, r *http.Request) {
	wait := r.URL.Query().Get("wait")
	id, aerr := s.ownedSession(r, wait != "true" && wait != "1")
	if aerr == nil {
		var p params
		p, aerr = parseParams(r, true)
		if aerr == nil {
			s.stream(w, r, selector{session: id, types: p.types}, p.after, "sse", sseFrame, nil)
			return
		}
	}
	writeError(w, aerr)
}

// allStream handles GET /v1/stream?types=&session_prefix=: every session
// the key may read; the cursor is the store-wide position.
func (s *Server) allStream(w http.ResponseWriter, r *http.Request) {
	p, aerr := parseParams(r, true)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	pr := principalOf(r)
	prefix, ok := prefixFor(pr, r.URL.Query().Get("session_prefix"))
	if !ok {
		writeError(w, errorf(http.StatusForbidden, CodeForbidden, "key %q may only read sessions starting with %q", pr.name(), pr.prefix()))
		return
	}
	s.stream(w, r, selector{types: p.types, prefix: prefix}, p.after, "sse", sseFrame, nil)
}

// stream serves an SSE stream of the events sel picks after the cursor.
// first, if set, is written before any event (a JSON-RPC response).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, sel selector, after uint64, transport string, format frameFunc, first []byte) {
	pr := principalOf(r)
	if aerr := s.acquire(pr); aerr != nil {
		writeError(w, aerr)
		return
	}
	f, err := newFollower(s.tail, s.hub, sel, after, 256)
	if err != nil {
		s.release(pr)
		writeError(w, errorf(http.StatusServiceUnavailable, CodeUnavailable, "%v", err))
		return
	}
	if s.hijackStream(w, r, f, sel, transport, format, first) {
		return // the stream goes on without this goroutine
	}
	defer s.release(pr)
	defer f.close()
	gauge := s.m.conns.WithLabelValues("sse")
	gauge.Inc()
	defer gauge.Dec()
	delivered := s.m.delivered.WithLabelValues(transport)

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.streamCtx, cancel)
	defer stop()

	h := w.Header()
	h.Set("Content-Type", wire.ContentTypeSSE)
	h.Set("Cache-Control", "no-cache, no-store, no-transform")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	buf := wire.AppendComment(nil, "sluice")
	buf = wire.AppendRetry(buf, s.cfg.Retry)
	if first != nil {
		buf = wire.AppendFrame(buf, "", "", first)
	}
	var frames []frame
	for {
		if len(buf) > 0 {
			rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			if _, err := w.Write(buf); err == nil {
				err = rc.Flush()
			}
			if err != nil {
				if ctx.Err() == nil {
					s.m.drops.WithLabelValues("write").Inc()
				}
				return
			}
			buf = buf[:0]
		}
		hctx, hcancel := context.WithTimeout(ctx, s.cfg.Heartbeat)
		frames, err = f.next(hctx, frames[:0])
		hcancel()
		// Frames that came with an error are sent all the same: the
		// follower's cursor has moved past them.
		for i := range frames {
			buf = format(buf, &frames[i])
		}
		delivered.Add(float64(len(frames)))
		switch {
		case err == nil:
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			if len(frames) == 0 {
				buf = wire.AppendComment(buf, "ping")
			}
		case s.streamCtx.Err() != nil || errors.Is(err, errTailClosed):
			buf = wire.AppendRetry(buf, time.Second)
			buf = wire.AppendFrame(buf, "", SSEReconnect, []byte(`{"reason":"the server is shutting down; reconnect with Last-Event-ID to resume"}`))
			rc.SetWriteDeadline(time.Now().Add(time.Second))
			w.Write(buf)
			rc.Flush()
			return
		case ctx.Err() != nil:
			return // the client left
		default:
			s.log.Error("server: stream failed", "err", err)
			buf = wire.AppendFrame(buf, "", SSEError, []byte(`{"code":"internal","message":"reading the log failed; reconnect with Last-Event-ID to resume"}`))
			rc.SetWriteDeadline(time.Now().Add(time.Second))
			w.Write(buf)
			rc.Flush()
			return
		}
	}
}
