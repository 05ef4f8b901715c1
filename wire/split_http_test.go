package wire_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/wire"
)

// lockstep is an SSE server that streams a body one byte at a time, each
// byte flushed as its own chunk, and sends the next byte only after the
// client has read the last one: every read the client makes returns one
// byte, so every frame, line, field and UTF-8 sequence arrives split at
// every possible point.
type lockstep struct {
	t    *testing.T
	ack  chan struct{}
	body func(r *http.Request) string
}

func newLockstep(t *testing.T, body func(r *http.Request) string) (*lockstep, *httptest.Server) {
	l := &lockstep{t: t, ack: make(chan struct{}), body: body}
	ts := httptest.NewServer(l)
	t.Cleanup(func() {
		ts.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	return l, ts
}

func (l *lockstep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", wire.ContentTypeSSE)
	rc := http.NewResponseController(w)
	body := l.body(r)
	for i := 0; i < len(body); i++ {
		if _, err := w.Write([]byte{body[i]}); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-l.ack:
		case <-r.Context().Done():
			return
		}
	}
}

// ackBody acknowledges each byte the client reads and checks that no read
// returns more than one.
type ackBody struct {
	io.ReadCloser
	l *lockstep
}

func (b ackBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 1 {
		b.l.t.Errorf("a read returned %d bytes; the server sends one at a time", n)
	}
	for range n {
		b.l.ack <- struct{}{}
	}
	return n, err
}

// RoundTrip makes l a transport whose response bodies acknowledge.
func (l *lockstep) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		resp.Body = ackBody{resp.Body, l}
	}
	return resp, err
}

// splitStream is a stream with everything a parser can get wrong when a
// frame is split: a BOM, comments, retry:, multi-line data, CRLF and CR
// line ends, multi-byte UTF-8 and an id that persists.
func splitStream() string {
	var b []byte
	b = append(b, "\xEF\xBB\xBF"...)
	b = wire.AppendComment(b, "sluice")
	b = wire.AppendRetry(b, 2*time.Second)
	b = wire.AppendFrame(b, "1", "message.text.delta", []byte(`{"text":"héllo 世界 🙂"}`))
	b = wire.AppendFrame(b, "2", "tool.call", []byte("line one\nline two"))
	b = append(b, "id: 3\r\nevent: a.b\r\ndata: crlf\r\n\r\n"...)
	b = append(b, ": ping\rdata: cr and persisted id\r\r"...)
	b = wire.AppendFrame(b, "4", "", []byte(strings.Repeat("x", 300)))
	return string(b)
}

// TestReaderOverHTTPByteByByte: the parser fed by a real net/http server
// that flushes one byte at a time yields exactly what it yields from the
// whole stream at once.
func TestReaderOverHTTPByteByByte(t *testing.T) {
	stream := splitStream()
	want, err := readAll(t, strings.NewReader(stream))
	if err != nil || len(want) != 5 {
		t.Fatalf("whole stream: %d events, %v", len(want), err)
	}
	l, ts := newLockstep(t, func(*http.Request) string { return stream })
	resp, err := (&http.Client{Transport: l}).Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := readAll(t, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("byte by byte:\n got %q\nwant %q", got, want)
	}
}

// TestClientOverHTTPByteByByte: the resuming client over the same server:
// the first connection ends in the middle of a frame, the client
// reconnects with the last complete frame's id and gets every event once.
func TestClientOverHTTPByteByByte(t *testing.T) {
	var lastIDs []string
	l, ts := newLockstep(t, func(r *http.Request) string {
		last := r.Header.Get("Last-Event-ID")
		lastIDs = append(lastIDs, last)
		var b []byte
		b = wire.AppendRetry(b, time.Millisecond)
		switch last {
		case "":
			b = wire.AppendFrame(b, "1", "a.b", []byte("ü one"))
			b = wire.AppendFrame(b, "2", "a.b", []byte("two\nlines"))
			b = append(b, "id: 3\nevent: a.b\ndata: thr"...) // cut
		case "2":
			b = wire.AppendFrame(b, "3", "a.b", []byte("three"))
			b = wire.AppendFrame(b, "4", "a.b", []byte("four"))
		default:
			t.Errorf("Last-Event-ID %q", last)
		}
		return string(b)
	})
	var got []string
	done := errors.New("done")
	c := &wire.Client{HTTPClient: &http.Client{Transport: l}, MaxRetry: time.Millisecond}
	err := c.Stream(context.Background(), ts.URL, "", func(ev wire.Event) error {
		got = append(got, ev.ID+"="+string(ev.Data))
		if len(got) == 4 {
			return done
		}
		return nil
	})
	if !errors.Is(err, done) {
		t.Fatal(err)
	}
	if g := strings.Join(got, ","); g != "1=ü one,2=two\nlines,3=three,4=four" {
		t.Fatalf("events %q", g)
	}
	if g := strings.Join(lastIDs, ","); g != ",2" {
		t.Fatalf("Last-Event-IDs %q", g)
	}
}
