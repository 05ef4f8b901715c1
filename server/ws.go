package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/sluice-events/sluice/wire"
)

// WebSocket close codes the server uses besides the standard ones.
const (
	// CloseTooSlow closes a connection whose queue stayed full for
	// Config.SlowTimeout. The reason names the limit; reconnect and
	// subscribe again with after set to each subscription's last cursor.
	CloseTooSlow websocket.StatusCode = 4008
	// CloseLimit closes a connection that broke a limit (too many
	// subscriptions is answered with an error instead).
	CloseLimit websocket.StatusCode = 4009
)

// wsConn is one WebSocket connection: JSON-RPC 2.0 in both directions.
type wsConn struct {
	s      *Server
	c      *websocket.Conn
	p      principal
	ctx    context.Context
	cancel context.CancelFunc
	out    chan []byte

	mu     sync.Mutex
	subs   map[string]context.CancelFunc
	nextID int
	wg     sync.WaitGroup

	closeOnce   sync.Once
	closing     chan struct{} // closed by close: the writer closes the connection
	closeCode   websocket.StatusCode
	closeReason string
}

// websocket handles GET /v1/ws.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	if aerr := s.acquire(p); aerr != nil {
		writeError(w, aerr)
		return
	}
	defer s.release(p)
	opts := &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled}
	if s.anyCORS {
		opts.InsecureSkipVerify = true
	} else {
		for o := range s.corsOrig {
			opts.OriginPatterns = append(opts.OriginPatterns, o)
		}
	}
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return // Accept wrote the response
	}
	c.SetReadLimit(s.cfg.MaxBodyBytes)
	gauge := s.m.conns.WithLabelValues("ws")
	gauge.Inc()
	defer gauge.Dec()

	ctx, cancel := context.WithCancel(context.Background())
	wc := &wsConn{s: s, c: c, p: p, ctx: ctx, cancel: cancel, out: make(chan []byte, s.cfg.WSQueue), subs: map[string]context.CancelFunc{}, closing: make(chan struct{})}
	s.trackWS(wc, true)
	defer s.trackWS(wc, false)
	stop := context.AfterFunc(s.streamCtx, func() {
		wc.close(websocket.StatusServiceRestart, "server restarting: reconnect and subscribe again after your last cursor")
	})
	defer stop()
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		wc.writeLoop()
	}()
	wc.readLoop()
	wc.close(websocket.StatusNormalClosure, "")
	writer.Wait()
	cancel()
	wc.wg.Wait()
	writer.Wait()
	c.CloseNow()
}

// close asks the writer to close the connection with code and reason
// once the message it is writing is out: the client reads what was queued
// before, then the close frame with the reason. The loops then end.
func (wc *wsConn) close(code websocket.StatusCode, reason string) {
	wc.closeOnce.Do(func() {
		wc.closeCode, wc.closeReason = code, reason
		close(wc.closing)
	})
}

func (wc *wsConn) writeLoop() {
	defer wc.cancel()
	hb := time.NewTicker(wc.s.cfg.Heartbeat)
	defer hb.Stop()
	write := func(msg []byte) bool {
		ctx, cancel := context.WithTimeout(wc.ctx, wc.s.cfg.WriteTimeout)
		err := wc.c.Write(ctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			if wc.ctx.Err() == nil {
				wc.s.m.drops.WithLabelValues("write").Inc()
			}
			return false
		}
		return true
	}
	for {
		select {
		case <-wc.closing:
			wc.c.Close(wc.closeCode, wc.closeReason) // the handshake, bounded by the library (5s)
			return
		default:
		}
		select {
		case <-wc.closing:
		case msg := <-wc.out:
			if !write(msg) {
				return
			}
		case <-hb.C:
			ctx, cancel := context.WithTimeout(wc.ctx, wc.s.cfg.WriteTimeout)
			err := wc.c.Ping(ctx)
			cancel()
			if err != nil {
				return
			}
		case <-wc.ctx.Done():
			return
		}
	}
}

// send queues a message, waiting at most SlowTimeout for room; a client
// that does not make room in that time is closed as too slow.
func (wc *wsConn) send(msg []byte) bool {
	select {
	case <-wc.closing:
		return false
	default:
	}
	select {
	case wc.out <- msg:
		return true
	case <-wc.ctx.Done():
		return false
	default:
	}
	t := time.NewTimer(wc.s.cfg.SlowTimeout)
	defer t.Stop()
	select {
	case wc.out <- msg:
		return true
	case <-wc.ctx.Done():
		return false
	case <-wc.closing:
		return false
	case <-t.C:
		wc.s.m.drops.WithLabelValues("slow").Inc()
		wc.close(CloseTooSlow, fmt.Sprintf("too slow: %d messages queued for %s; resubscribe after your last cursor", wc.s.cfg.WSQueue, wc.s.cfg.SlowTimeout))
		return false
	}
}

func (wc *wsConn) readLoop() {
	for {
		typ, data, err := wc.c.Read(wc.ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				wc.close(websocket.StatusMessageTooBig, "message over the size limit")
			}
			return
		}
		if typ != websocket.MessageText {
			wc.send(wire.Response{Error: wire.Errorf(wire.ParseError, "parse error: send JSON-RPC as text messages")}.AppendJSON(nil))
			continue
		}
		calls, batch, perr := wire.ParseRequests(data, wc.s.cfg.MaxRPCBatch)
		if perr != nil {
			if !wc.send(wire.Response{Error: perr}.AppendJSON(nil)) {
				return
			}
			continue
		}
		var after []func() // subscriptions start after their response is queued
		out, n := answer(calls, batch, wc.s.cfg.MaxResponseBytes, func(req *wire.Request, room int) (json.RawMessage, *wire.Error) {
			res, e, start := wc.dispatch(req, room)
			if start != nil {
				after = append(after, start)
			}
			return res, e
		})
		if n > 0 && !wc.send(out) {
			return
		}
		for _, start := range after {
			start()
		}
	}
}

// dispatch runs one request (a query result fills at most room bytes);
// start, if not nil, starts a subscription.
func (wc *wsConn) dispatch(req *wire.Request, room int) (res []byte, e *wire.Error, start func()) {
	switch req.Method {
	case MethodSubscribe:
		var rp readParams
		if e := decodeParams(req.Params, &rp); e != nil {
			return nil, e, nil
		}
		sel, after, e := wc.s.subscription(wc.ctx, wc.p, rp)
		if e != nil {
			return nil, e, nil
		}
		wc.mu.Lock()
		if len(wc.subs) >= wc.s.cfg.MaxSubscriptions {
			wc.mu.Unlock()
			return nil, rpcError(errorf(http.StatusTooManyRequests, CodeTooMany, "this connection has %d subscriptions, the limit", wc.s.cfg.MaxSubscriptions)), nil
		}
		wc.nextID++
		id := strconv.Itoa(wc.nextID)
		ctx, cancel := context.WithCancel(wc.ctx)
		wc.subs[id] = cancel
		wc.mu.Unlock()
		feed, err := wc.s.hub.Subscribe(sel, after)
		if err != nil {
			wc.unsubscribe(id)
			return nil, rpcError(errorf(http.StatusServiceUnavailable, CodeUnavailable, "%v", err)), nil
		}
		res, _ := marshal(map[string]string{"subscription": id})
		wc.wg.Add(1)
		return res, nil, func() {
			wc.s.startStream(ctx, feed, wire.Native{}, &wsSub{wc: wc, id: id}, streamOpts{label: "ws", watch: true})
		}
	case MethodUnsubscribe:
		var p struct {
			Subscription string `json:"subscription"`
		}
		if e := decodeParams(req.Params, &p); e != nil {
			return nil, e, nil
		}
		if !wc.unsubscribe(p.Subscription) {
			return nil, rpcError(errorf(http.StatusNotFound, CodeNotFound, "no subscription %q on this connection", p.Subscription)), nil
		}
		res, _ := marshal(map[string]bool{"unsubscribed": true})
		return res, nil, nil
	}
	res, e = wc.s.call(wc.ctx, wc.p, req, room)
	return res, e, nil
}

func (wc *wsConn) unsubscribe(id string) bool {
	wc.mu.Lock()
	cancel, ok := wc.subs[id]
	delete(wc.subs, id)
	wc.mu.Unlock()
	if ok {
		cancel()
	}
	return ok
}

// wsSub is the transport of one subscription on a WebSocket connection:
// each message is a JSON-RPC notification of its own (see
// appendNotification); the connection's writer sends the pings.
type wsSub struct {
	wc    *wsConn
	id    string
	marks []int // where each notification in the buffer ends
}

func (t *wsSub) appendMessage(b []byte, cursor uint64, last bool, m *wire.Message) []byte {
	if m == nil {
		return b
	}
	b = appendNotification(b, t.id, cursor, m.Data)
	t.marks = append(t.marks, len(b))
	return b
}

func (t *wsSub) appendPing(b []byte) []byte { return b }

// appendEnd tells the client why its subscription ended; on shutdown the
// connection closes with code 1012 (service restart) instead.
func (t *wsSub) appendEnd(b []byte, why endReason) []byte {
	if why == endRestart {
		return b
	}
	b = append(b, `{"jsonrpc":"2.0","method":"`+MethodError+`","params":{"subscription":`...)
	b = strconv.AppendQuote(b, t.id)
	b = append(b, `,"error":{"code":"internal","message":"reading the log failed: subscribe again after your last cursor"}}}`...)
	t.marks = append(t.marks, len(b))
	return b
}

// write queues each notification in b as a message of its own.
func (t *wsSub) write(b []byte) error {
	start := 0
	for _, end := range t.marks {
		if !t.wc.send(append([]byte(nil), b[start:end]...)) {
			t.marks = t.marks[:0]
			return errWSClosed
		}
		start = end
	}
	t.marks = t.marks[:0]
	return nil
}

// close sends final and forgets the subscription.
func (t *wsSub) close(final []byte) {
	if len(final) > 0 {
		t.write(final)
	}
	t.wc.mu.Lock()
	if cancel, ok := t.wc.subs[t.id]; ok {
		delete(t.wc.subs, t.id)
		cancel()
	}
	t.wc.mu.Unlock()
	t.wc.wg.Done()
}

var errWSClosed = errors.New("server: websocket connection closed")
