package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-events/sluice/hub"
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

// sseFraming is how SSE frames look, for every SSE transport: each
// message is a frame whose id: is the event's cursor (on the last message
// of an event), event: the message's name, data: its data. wrap, if set,
// turns a message's data into what data: carries (a JSON-RPC
// notification).
type sseFraming struct {
	wrap func(b []byte, cursor uint64, data []byte) []byte
	tmp  []byte
}

func (f *sseFraming) appendMessage(b []byte, cursor uint64, last bool, m *wire.Message) []byte {
	var idb [20]byte
	id := ""
	if last {
		id = string(strconv.AppendUint(idb[:0], cursor, 10))
	}
	if m == nil {
		if id == "" {
			return b
		}
		// No message for this event, but the client's Last-Event-ID
		// still moves past it.
		b = append(b, "id: "...)
		b = append(b, id...)
		return append(b, '\n', '\n')
	}
	data, name := m.Data, m.Name
	if f.wrap != nil {
		name = "" // a JSON-RPC notification is an unnamed message
		f.tmp = f.wrap(f.tmp[:0], cursor, data)
		data = f.tmp
		defer func() {
			if cap(f.tmp) > 64<<10 {
				f.tmp = nil
			}
		}()
	}
	return wire.AppendFrame(b, id, name, data)
}

func (f *sseFraming) appendPing(b []byte) []byte { return wire.AppendComment(b, "ping") }

func (f *sseFraming) appendEnd(b []byte, why endReason) []byte {
	if why == endRestart {
		b = wire.AppendRetry(b, time.Second)
		return wire.AppendFrame(b, "", SSEReconnect, []byte(`{"reason":"the server is shutting down; reconnect with Last-Event-ID to resume"}`))
	}
	return wire.AppendFrame(b, "", SSEError, []byte(`{"code":"internal","message":"reading the log failed; reconnect with Last-Event-ID to resume"}`))
}

// ssePreamble is what every SSE stream starts with: a comment, the retry:
// hint and, for a JSON-RPC subscription, the response.
func (s *Server) ssePreamble(first []byte) []byte {
	b := wire.AppendComment(nil, "sluice")
	b = wire.AppendRetry(b, s.cfg.Retry)
	if first != nil {
		b = wire.AppendFrame(b, "", "", first)
	}
	return b
}

// setSSEHeaders sets the headers of an SSE response.
func setSSEHeaders(h http.Header) {
	h.Set("Content-Type", wire.ContentTypeSSE)
	h.Set("Cache-Control", "no-cache, no-store, no-transform")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	h.Set("X-Content-Type-Options", "nosniff")
}

// sessionStream handles GET /v1/sessions/{id}/stream: one session; the
// cursor is its sequence number. Without wait=true the session must exist.
func (s *Server) sessionStream(w http.ResponseWriter, r *http.Request) {
	wait := r.URL.Query().Get("wait")
	if _, aerr := s.ownedSession(r, wait != "true" && wait != "1"); aerr != nil {
		writeError(w, aerr)
		return
	}
	s.stream(w, r)
}

// allStream handles GET /v1/stream?types=&session_prefix=: every session
// the key may read; the cursor is the store-wide position.
func (s *Server) allStream(w http.ResponseWriter, r *http.Request) { s.stream(w, r) }

// stream serves the SSE stream a request's parameters ask for.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	rp, aerr := urlParams(r, true)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	sel, p, aerr := s.selector(r.Context(), principalOf(r), rp)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	o := sseOpts{label: "sse"}
	if o.enc, o.prelude, aerr = s.encoder(r, w.Header(), rp.Session, p.after); aerr != nil {
		writeError(w, aerr)
		return
	}
	s.serveSSE(w, r, sel, p.after, o)
}

// sseOpts are what differs between the server's SSE streams.
type sseOpts struct {
	label   string                                            // metric label: sse, rpc
	first   []byte                                            // written before any event (a JSON-RPC response)
	wrap    func(b []byte, cursor uint64, data []byte) []byte // see sseFraming
	enc     wire.Encoder                                      // the format's encoder; nil: native
	prelude []byte                                            // frames written after the preamble (a resumed stream's prelude)
}

// serveSSE serves an SSE stream of the events sel picks after the cursor,
// in the native format: over the hijacked connection for HTTP/1.x (see
// sseconn.go), else through net/http in the handler's goroutine.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request, sel hub.Selector, after uint64, o sseOpts) {
	pr := principalOf(r)
	if aerr := s.acquire(pr); aerr != nil {
		writeError(w, aerr)
		return
	}
	feed, err := s.hub.Subscribe(sel, after)
	if err != nil {
		s.release(pr)
		writeError(w, errorf(http.StatusServiceUnavailable, CodeUnavailable, "%v", err))
		return
	}
	framing := sseFraming{wrap: o.wrap}
	if o.enc == nil {
		o.enc = wire.Native{}
	}
	setSSEHeaders(w.Header())
	if s.hijackSSE(w, r, feed, framing, pr, o) {
		return // the stream goes on without this goroutine
	}
	gauge := s.m.conns.WithLabelValues("sse")
	gauge.Inc()
	defer gauge.Dec()
	w.WriteHeader(http.StatusOK)
	tr := &httpSSE{sseFraming: framing, w: w, rc: http.NewResponseController(w), timeout: s.cfg.WriteTimeout}
	done := make(chan struct{})
	s.startStream(r.Context(), feed, o.enc, tr, streamOpts{
		label: o.label, heartbeat: true, first: append(s.ssePreamble(o.first), o.prelude...), watch: true,
		onEnd: func() { s.release(pr); close(done) },
	})
	<-done // the stream writes from its own goroutines; the handler must outlive them
}

// httpSSE is SSE through net/http's ResponseWriter (HTTP/2, HEAD).
type httpSSE struct {
	sseFraming
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (t *httpSSE) write(b []byte) error {
	t.rc.SetWriteDeadline(time.Now().Add(t.timeout))
	if _, err := t.w.Write(b); err != nil {
		return err
	}
	return t.rc.Flush()
}

func (t *httpSSE) close(final []byte) {
	if len(final) > 0 {
		t.rc.SetWriteDeadline(time.Now().Add(time.Second))
		t.w.Write(final)
		t.rc.Flush()
	}
}
