package server

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-events/sluice/hub"
)

// An SSE stream over HTTP/1.x costs little while it is idle.
//
// net/http gives every request a goroutine that runs the handler (with a
// stack grown by the middleware, the store read and the encoder), a second
// goroutine reading in the background to notice a client that leaves, and
// 10 KiB of bufio buffers. An idle stream needs none of that: once its
// headers are decided, the handler hijacks the connection and returns, and
// the stream lives on in the one stream loop (stream.go) with an sseConn
// as its transport. One small goroutine per connection blocks in a
// one-byte Read, so a client that leaves is noticed at once, as net/http
// would.
//
// The response is chunked (HTTP/1.1) or delimited by the connection's end
// (HTTP/1.0), with Connection: close. HTTP/2 streams and HEAD requests use
// the handler's goroutine (httpSSE in sse.go).

// sseConn is the transport of an SSE stream over a hijacked connection.
type sseConn struct {
	sseFraming
	conn    net.Conn
	chunked bool
	timeout time.Duration
}

// hijackSSE tries to serve the stream over the hijacked connection. It
// returns false, having written nothing, if the connection cannot be
// hijacked (HTTP/2, HEAD), and the caller serves the stream itself.
func (s *Server) hijackSSE(w http.ResponseWriter, r *http.Request, feed *hub.Feed, framing sseFraming, pr principal, o sseOpts) bool {
	if r.ProtoMajor != 1 || r.Method == http.MethodHead {
		return false
	}
	// What the handler's chain set (CORS) plus the stream's own headers.
	hdr := make([]byte, 0, 512)
	if r.ProtoAtLeast(1, 1) {
		hdr = append(hdr, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"...)
	} else {
		hdr = append(hdr, "HTTP/1.0 200 OK\r\n"...)
	}
	hdr = append(hdr, "Connection: close\r\nDate: "...)
	hdr = time.Now().UTC().AppendFormat(hdr, http.TimeFormat)
	hdr = append(hdr, "\r\n"...)
	for k, vs := range w.Header() {
		for _, v := range vs {
			hdr = append(hdr, k...)
			hdr = append(hdr, ": "...)
			hdr = append(hdr, v...)
			hdr = append(hdr, "\r\n"...)
		}
	}
	hdr = append(hdr, "\r\n"...)

	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	c := &sseConn{sseFraming: framing, conn: conn, chunked: r.ProtoAtLeast(1, 1), timeout: s.cfg.WriteTimeout}
	gauge := s.m.conns.WithLabelValues("sse")
	gauge.Inc()
	s.trackSSE(c, true)
	onEnd := func() {
		gauge.Dec()
		s.trackSSE(c, false)
		s.release(pr)
	}
	conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if _, err := conn.Write(hdr); err != nil {
		s.m.drops.WithLabelValues("write").Inc()
		feed.Close()
		conn.Close()
		onEnd()
		return true
	}
	// Store reads end with the server's streams; the client leaving is
	// noticed by watch.
	st := s.startStream(s.streamCtx, feed, o.enc, c, streamOpts{
		label: o.label, heartbeat: true, first: append(s.ssePreamble(o.first), o.prelude...), onEnd: onEnd,
	})
	go c.watch(st)
	return true
}

// watch notices the client leaving: an SSE client sends nothing after its
// request, so a read returns only when the connection ends.
func (c *sseConn) watch(st *stream) {
	b := make([]byte, 1)
	for {
		if _, err := c.conn.Read(b); err != nil {
			st.gone()
			return
		}
	}
}

// write writes b as one chunk.
func (c *sseConn) write(b []byte) error {
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if !c.chunked {
		_, err := c.conn.Write(b)
		return err
	}
	var hdr [18]byte
	h := strconv.AppendUint(hdr[:0], uint64(len(b)), 16)
	h = append(h, '\r', '\n')
	bufs := net.Buffers{h, b, []byte("\r\n")}
	_, err := bufs.WriteTo(c.conn)
	return err
}

// close writes the stream's last frames and the end of the body, and
// closes the connection.
func (c *sseConn) close(final []byte) {
	c.timeout = time.Second
	if len(final) > 0 && c.write(final) == nil && c.chunked {
		c.conn.Write([]byte("0\r\n\r\n"))
	}
	c.conn.Close()
}
