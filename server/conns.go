package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// Protection against clients that hold connections without doing
// anything useful: bodies that stall or trickle (readBody's deadlines),
// error answers that would wait for a body nobody reads (bodyTracker),
// and connections that never authenticate (gate).

// errBodyTimeout is reported for a body that did not arrive in time.
var errBodyTimeout = errors.New("the request body did not arrive in time")

// bodyDeadline moves the connection's read deadline as a body arrives:
// the body must be in within timeout, plus one second per rate bytes read
// so far.
type bodyDeadline struct {
	r       io.Reader
	rc      *http.ResponseController
	start   time.Time
	timeout time.Duration
	rate    float64
	n       int64
}

func (b *bodyDeadline) Read(p []byte) (int, error) {
	d := b.start.Add(b.timeout + time.Duration(float64(b.n)/b.rate*float64(time.Second)))
	_ = b.rc.SetReadDeadline(d) // not supported (HTTP/2): the server's own timeouts apply
	n, err := b.r.Read(p)
	b.n += int64(n)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = errBodyTimeout
	}
	return n, err
}

// bodyTracker records whether a request body was read to its end.
type bodyTracker struct {
	io.ReadCloser
	done bool
}

func (b *bodyTracker) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done = true
	}
	return n, err
}

// unread reports whether r still has body bytes that nobody read.
func unread(r *http.Request, b *bodyTracker) bool {
	return r.ContentLength != 0 && r.Body != http.NoBody && (b == nil || !b.done)
}

// gate counts the connections that have not authenticated yet.
type gate struct {
	max   int
	mu    sync.Mutex
	conns map[net.Conn]*connState
	n     int // connections counted and not authenticated
}

// connState is what the gate knows of one connection; requests find it in
// their context.
type connState struct {
	counted bool // counted against max, not yet authenticated
}

type connKey struct{}

func newGate(max int) *gate { return &gate{max: max, conns: map[net.Conn]*connState{}} }

// connContext puts the state of a new connection in the context of its
// requests (net/http calls it just before StateNew).
func (g *gate) connContext(ctx context.Context, c net.Conn) context.Context {
	cs := &connState{}
	g.mu.Lock()
	g.conns[c] = cs
	g.mu.Unlock()
	return context.WithValue(ctx, connKey{}, cs)
}

// connState counts new connections, refuses those over the limit, and
// forgets closed ones.
func (g *gate) connState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		g.mu.Lock()
		over := g.n >= g.max
		if cs := g.conns[c]; cs != nil && !over {
			cs.counted = true
			g.n++
		}
		g.mu.Unlock()
		if over {
			refuseConn(c, g.max)
		}
	case http.StateHijacked, http.StateClosed:
		g.mu.Lock()
		if cs := g.conns[c]; cs != nil {
			if cs.counted {
				g.n--
			}
			delete(g.conns, c)
		}
		g.mu.Unlock()
	}
}

// authenticated stops counting the connection of a request that passed
// authentication.
func (g *gate) authenticated(r *http.Request) {
	cs, _ := r.Context().Value(connKey{}).(*connState)
	if cs == nil {
		return
	}
	g.mu.Lock()
	if cs.counted {
		cs.counted = false
		g.n--
	}
	g.mu.Unlock()
}

// refuseConn answers a connection over the limit with 503 and closes it.
func refuseConn(c net.Conn, max int) {
	body := `{"error":{"status":503,"code":"` + CodeTooMany + `","message":"too many connections that have not authenticated (the limit is ` +
		strconv.Itoa(max) + `); retry shortly"}}` + "\n"
	c.SetWriteDeadline(time.Now().Add(time.Second))
	io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+body)
	c.Close()
}
