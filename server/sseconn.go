package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-events/sluice/wire"
)

// An SSE stream over HTTP/1.x costs little while it is idle.
//
// net/http gives every request a goroutine that runs the handler (with a
// stack grown by the middleware, the store read and the encoder), a second
// goroutine reading in the background to notice a client that leaves, and
// 10 KiB of bufio buffers. An idle stream needs none of that: once its
// headers are decided, the handler hijacks the connection and returns, and
// the stream lives on as an sseConn:
//
//   - nothing runs while it waits: the tail calls it back (tail.notify)
//     when its session (or any session) has new events, a timer when a
//     heartbeat is due, and the server's stream context when it drains;
//     each call starts a short-lived goroutine that writes what is due and
//     ends (at most one runs per stream);
//   - one small goroutine per connection blocks in a one-byte Read, so a
//     client that leaves is noticed at once, as net/http would;
//   - frames are encoded into a pooled buffer only while they are written.
//
// The response is chunked (HTTP/1.1) or delimited by the connection's end
// (HTTP/1.0), with Connection: close. HTTP/2 streams, HEAD requests and a
// server without the shared tail use the handler's goroutine as before
// (Server.stream).

// wake reasons of an sseConn.
const (
	wakeEvents = 1 << iota // the tail has new events
	wakePing               // a heartbeat is due
	wakeGone               // the client left or the connection broke
	wakeDrain              // the server is shutting down
)

type sseConn struct {
	s         *Server
	conn      net.Conn
	f         *follower
	session   string // the follower's session, "" for all
	pr        principal
	format    frameFunc
	chunked   bool
	delivered prometheus.Counter
	gauge     prometheus.Gauge
	hb        *time.Timer
	stopDrain func() bool

	mu      sync.Mutex
	why     int  // wake reasons not handled yet
	running bool // a goroutine is writing
	ended   bool
}

var ssePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// framesPool holds the frame slices of running streams.
var framesPool = sync.Pool{New: func() any { f := make([]frame, 0, 64); return &f }}

// hijackStream tries to serve the stream as an sseConn. It returns false,
// having written nothing, if the connection cannot be hijacked (HTTP/2),
// and the caller serves the stream itself.
func (s *Server) hijackStream(w http.ResponseWriter, r *http.Request, f *follower, sel selector, transport string, format frameFunc, first []byte) bool {
	if r.ProtoMajor != 1 || r.Method == http.MethodHead || s.tail == nil {
		return false
	}
	h := w.Header()
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
	h.Set("Content-Type", wire.ContentTypeSSE)
	h.Set("Cache-Control", "no-cache, no-store, no-transform")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	for k, vs := range h {
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
	c := &sseConn{
		s: s, conn: conn, f: f, session: sel.session, pr: principalOf(r), format: format,
		chunked: r.ProtoAtLeast(1, 1), delivered: s.m.delivered.WithLabelValues(transport),
		gauge: s.m.conns.WithLabelValues("sse"),
	}
	c.gauge.Inc()
	s.trackSSE(c, true)

	body := wire.AppendComment(nil, "sluice")
	body = wire.AppendRetry(body, s.cfg.Retry)
	if first != nil {
		body = wire.AppendFrame(body, "", "", first)
	}
	conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if _, err := conn.Write(hdr); err != nil || c.write(body) != nil {
		s.m.drops.WithLabelValues("write").Inc()
		c.end()
		return true
	}
	c.hb = time.AfterFunc(s.cfg.Heartbeat, func() { c.wakeFor(wakePing) })
	c.stopDrain = context.AfterFunc(s.streamCtx, func() { c.wakeFor(wakeDrain) })
	go c.watch()
	c.wakeFor(wakeEvents)
	return true
}

// watch notices the client leaving: an SSE client sends nothing after its
// request, so a read returns only when the connection ends.
func (c *sseConn) watch() {
	b := make([]byte, 1)
	for {
		if _, err := c.conn.Read(b); err != nil {
			c.wakeFor(wakeGone)
			return
		}
	}
}

// wake implements waker: it runs the stream unless it is running, in which
// case the running goroutine goes round again.
func (c *sseConn) wake() { c.wakeFor(wakeEvents) }

func (c *sseConn) wakeFor(why int) {
	c.mu.Lock()
	c.why |= why
	if c.running || c.ended {
		c.mu.Unlock()
		return
	}
	c.running = true
	c.mu.Unlock()
	go c.run()
}

// run writes what is due, then leaves the stream idle (registered with the
// tail) or ends it.
func (c *sseConn) run() {
	s := c.s
	bp := ssePool.Get().(*[]byte)
	fp := framesPool.Get().(*[]frame)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= 64<<10 {
			*bp = buf[:0]
			ssePool.Put(bp)
		}
		clear((*fp)[:cap(*fp)])
		*fp = (*fp)[:0]
		framesPool.Put(fp)
	}()
	for {
		c.mu.Lock()
		why := c.why
		c.why = 0
		c.mu.Unlock()
		if why&wakeGone != 0 {
			c.end()
			return
		}
		frames, wake, err := c.f.poll(s.streamCtx, (*fp)[:0])
		*fp = frames
		buf = buf[:0]
		for i := range frames {
			buf = c.format(buf, &frames[i])
		}
		c.delivered.Add(float64(len(frames)))
		switch {
		case s.streamCtx.Err() != nil || errors.Is(err, errTailClosed):
			buf = wire.AppendRetry(buf, time.Second)
			buf = wire.AppendFrame(buf, "", SSEReconnect, []byte(`{"reason":"the server is shutting down; reconnect with Last-Event-ID to resume"}`))
			c.last(buf)
			return
		case err != nil:
			s.log.Error("server: stream failed", "err", err)
			buf = wire.AppendFrame(buf, "", SSEError, []byte(`{"code":"internal","message":"reading the log failed; reconnect with Last-Event-ID to resume"}`))
			c.last(buf)
			return
		}
		if len(frames) == 0 && why&wakePing != 0 {
			buf = wire.AppendComment(buf, "ping")
		}
		if len(buf) > 0 {
			c.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			if err := c.write(buf); err != nil {
				c.mu.Lock()
				gone := c.why&wakeGone != 0
				c.mu.Unlock()
				if !gone {
					s.m.drops.WithLabelValues("write").Inc()
				}
				c.end()
				return
			}
			c.hb.Reset(s.cfg.Heartbeat)
		}
		if len(frames) > 0 {
			continue // more may be ready
		}
		if !s.tail.notify(c.session, wake, c) {
			continue // new events came meanwhile
		}
		c.f.idle()
		c.mu.Lock()
		if c.why != 0 {
			c.mu.Unlock()
			continue
		}
		c.running = false
		c.mu.Unlock()
		return
	}
}

// write writes b as one chunk.
func (c *sseConn) write(b []byte) error {
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

// last writes the stream's last frames and the end of the body, and ends it.
func (c *sseConn) last(b []byte) {
	c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if c.write(b) == nil && c.chunked {
		c.conn.Write([]byte("0\r\n\r\n"))
	}
	c.end()
}

// end closes the stream; it runs on the stream's goroutine, or before it
// started.
func (c *sseConn) end() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	c.mu.Unlock()
	if c.hb != nil {
		c.hb.Stop()
	}
	if c.stopDrain != nil {
		c.stopDrain()
	}
	c.s.tail.unnotify(c.session, c)
	c.conn.Close()
	c.f.close()
	c.gauge.Dec()
	c.s.trackSSE(c, false)
	c.s.release(c.pr)
}
