package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/wire"
)

// The one stream loop.
//
// Every stream the server sends — SSE over a hijacked HTTP/1.x connection,
// SSE over net/http (HTTP/2, HEAD), a WebSocket subscription, a JSON-RPC
// subscription over SSE — is a hub.Feed read by stream.run, which turns
// events into messages with a wire.Encoder and hands them to a transport
// that frames and writes them. Heartbeats, the shutdown frame and the
// error frame are decided here, once; transports only say how they look.
//
// Nothing runs while a stream is idle: the feed calls the stream back
// (hub.Feed.Notify) when its session has new events, a timer when a
// heartbeat is due, and the server's stream context when it drains; each
// call starts a short-lived goroutine that writes what is due and ends (at
// most one runs per stream). Frames are encoded into pooled buffers only
// while they are written.

// endReason says why the server ends a stream.
type endReason int

const (
	// endRestart: the server is shutting down; reconnect to resume.
	endRestart endReason = iota
	// endError: the server failed to read or encode the log; reconnect
	// to resume.
	endError
)

// transport frames a stream's messages and writes them to one kind of
// connection. Its methods are called from one goroutine at a time.
type transport interface {
	// appendMessage appends one message. cursor is the event's cursor;
	// last is true for the last message of an event (resume after it).
	// m is nil when the encoder made no message for an event: the
	// transport may still tell the client the cursor.
	appendMessage(b []byte, cursor uint64, last bool, m *wire.Message) []byte
	// appendPing appends a heartbeat, if the transport sends them.
	appendPing(b []byte) []byte
	// appendEnd appends the frame that ends the stream for why.
	appendEnd(b []byte, why endReason) []byte
	// write writes and flushes b.
	write(b []byte) error
	// close writes final (best effort, briefly) and releases the
	// connection.
	close(final []byte)
}

// wake reasons of a stream.
const (
	wakeEvents = 1 << iota // the feed may have new events
	wakePing               // a heartbeat is due
	wakeGone               // the client left or the connection broke
	wakeDrain              // the server is shutting down
)

type stream struct {
	s         *Server
	feed      *hub.Feed
	enc       wire.Encoder
	fin       wire.Finisher // enc, if its format ends streams
	tr        transport
	ctx       context.Context // store reads
	stopGone  func() bool     // stops the watch of ctx, if any
	delivered prometheus.Counter
	hb        *time.Timer // nil: the transport has its own heartbeat
	stopDrain func() bool
	onEvents  func()
	onEnd     func()
	pending   []byte // written before anything else

	mu      sync.Mutex
	why     int  // wake reasons not handled yet
	running bool // a goroutine is writing
	ended   bool
}

// streamOpts are the parts of a stream that differ by transport.
type streamOpts struct {
	label     string // for the delivered metric: sse, ws, rpc
	heartbeat bool   // send heartbeats through the transport
	first     []byte // written first (the SSE preamble)
	watch     bool   // the stream ends when its context does (the client left)
	onEnd     func() // after the transport closed
}

// startStream runs a stream of feed through enc and tr; ctx bounds its
// store reads. The stream owns feed and closes it when it ends.
func (s *Server) startStream(ctx context.Context, feed *hub.Feed, enc wire.Encoder, tr transport, o streamOpts) *stream {
	st := &stream{
		s: s, feed: feed, enc: enc, tr: tr, ctx: ctx, delivered: s.m.delivered.WithLabelValues(o.label),
		onEnd: o.onEnd, pending: o.first,
	}
	st.fin, _ = enc.(wire.Finisher)
	st.onEvents = func() { st.wakeFor(wakeEvents) }
	if o.heartbeat {
		st.hb = time.AfterFunc(s.cfg.Heartbeat, func() { st.wakeFor(wakePing) })
	}
	// Under mu: a context that is already done runs its func at once,
	// and the run it starts must see stopDrain and stopGone set.
	st.mu.Lock()
	st.stopDrain = context.AfterFunc(s.streamCtx, func() { st.wakeFor(wakeDrain) })
	if o.watch {
		st.stopGone = context.AfterFunc(ctx, st.gone)
	}
	st.mu.Unlock()
	st.wakeFor(wakeEvents)
	return st
}

// gone ends the stream: its client left.
func (st *stream) gone() { st.wakeFor(wakeGone) }

func (st *stream) wakeFor(why int) {
	st.mu.Lock()
	st.why |= why
	if st.running || st.ended {
		st.mu.Unlock()
		return
	}
	st.running = true
	st.mu.Unlock()
	go st.run()
}

var (
	bufPool   = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
	itemsPool = sync.Pool{New: func() any { s := make([]hub.Item, 0, 64); return &s }}
	msgsPool  = sync.Pool{New: func() any { s := make([]wire.Message, 0, 4); return &s }}
)

// run writes what is due, then leaves the stream idle (the feed calls it
// back) or ends it.
func (st *stream) run() {
	s := st.s
	bp, ip, mp, sp := bufPool.Get().(*[]byte), itemsPool.Get().(*[]hub.Item), msgsPool.Get().(*[]wire.Message), bufPool.Get().(*[]byte)
	buf, items, msgs, scratch := (*bp)[:0], (*ip)[:0], (*mp)[:0], (*sp)[:0]
	defer func() {
		putBuf(bp, buf)
		putBuf(sp, scratch)
		clear(items[:cap(items)])
		*ip = items[:0]
		itemsPool.Put(ip)
		clear(msgs[:cap(msgs)])
		*mp = msgs[:0]
		msgsPool.Put(mp)
	}()
	for {
		st.mu.Lock()
		why := st.why
		st.why = 0
		st.mu.Unlock()
		if why&wakeGone != 0 {
			st.end(nil)
			return
		}
		buf = append(buf[:0], st.pending...)
		st.pending = nil
		var err error
		finished := false
		items, err = st.feed.Poll(st.ctx, items[:0])
		for i := range items {
			it := &items[i]
			var js []byte
			var eerr error
			if js, eerr = it.JSON(scratch); eerr == nil {
				msgs, eerr = st.enc.Encode(msgs[:0], &it.Event, js)
			}
			if eerr != nil {
				err = eerr
				items = items[:i]
				break
			}
			if len(msgs) == 0 {
				buf = st.tr.appendMessage(buf, it.Cursor, true, nil)
			}
			for j := range msgs {
				buf = st.tr.appendMessage(buf, it.Cursor, j == len(msgs)-1, &msgs[j])
			}
			if st.fin != nil && st.fin.Finished() {
				finished = true // the format ends the stream here
				items = items[:i+1]
				break
			}
		}
		st.delivered.Add(float64(len(items)))
		switch {
		case finished && err == nil:
			st.end(buf)
			return
		case s.streamCtx.Err() != nil || errors.Is(err, hub.ErrClosed):
			st.end(st.tr.appendEnd(buf, endRestart))
			return
		case st.ctx.Err() != nil:
			st.end(nil) // the client left
			return
		case err != nil:
			s.log.Error("server: stream failed", "err", err)
			st.end(st.tr.appendEnd(buf, endError))
			return
		}
		if len(items) == 0 && why&wakePing != 0 {
			buf = st.tr.appendPing(buf)
		}
		if len(buf) > 0 {
			if err := st.tr.write(buf); err != nil {
				if st.ctx.Err() == nil {
					s.m.drops.WithLabelValues("write").Inc()
				}
				st.end(nil)
				return
			}
			if st.hb != nil {
				st.hb.Reset(s.cfg.Heartbeat)
			}
		}
		if len(items) > 0 {
			continue // more may be ready
		}
		if !st.feed.Notify(st.onEvents) {
			continue // new events came meanwhile
		}
		st.mu.Lock()
		if st.why != 0 {
			st.mu.Unlock()
			continue
		}
		st.running = false
		st.mu.Unlock()
		return
	}
}

func putBuf(p *[]byte, b []byte) {
	if cap(b) <= 64<<10 {
		*p = b[:0]
		bufPool.Put(p)
	}
}

// end writes final and closes the stream; it runs on the stream's
// goroutine.
func (st *stream) end(final []byte) {
	st.mu.Lock()
	if st.ended {
		st.mu.Unlock()
		return
	}
	st.ended = true
	stopDrain, stopGone := st.stopDrain, st.stopGone
	st.mu.Unlock()
	if st.hb != nil {
		st.hb.Stop()
	}
	stopDrain()
	if stopGone != nil {
		stopGone()
	}
	st.feed.Close()
	st.tr.close(final)
	if st.onEnd != nil {
		st.onEnd()
	}
}
