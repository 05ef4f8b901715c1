package wire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func readAll(t testing.TB, r io.Reader) ([]wire.Event, error) {
	sr := wire.NewReader(r)
	var out []wire.Event
	for {
		ev, err := sr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		ev.Data = bytes.Clone(ev.Data)
		out = append(out, ev)
	}
}

func TestReaderSpec(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []wire.Event
	}{
		{"basic", "id: 1\nevent: a.b\ndata: {}\n\n", []wire.Event{{"1", "a.b", []byte("{}")}}},
		{"default type", "data: x\n\n", []wire.Event{{"", "message", []byte("x")}}},
		{"multi-line data", "data: a\ndata: b\ndata\n\n", []wire.Event{{"", "message", []byte("a\nb\n")}}},
		{"CRLF", "id: 2\r\ndata: x\r\n\r\n", []wire.Event{{"2", "message", []byte("x")}}},
		{"CR", "id: 3\rdata: x\r\r", []wire.Event{{"3", "message", []byte("x")}}},
		{"BOM", "\xEF\xBB\xBFdata: x\n\n", []wire.Event{{"", "message", []byte("x")}}},
		{"only one space stripped", "data:  x\n\n", []wire.Event{{"", "message", []byte(" x")}}},
		{"no space", "data:x\n\n", []wire.Event{{"", "message", []byte("x")}}},
		{"comments", ": hi\n:\ndata: x\n\n", []wire.Event{{"", "message", []byte("x")}}},
		{"unknown field", "foo: bar\ndata: x\n\n", []wire.Event{{"", "message", []byte("x")}}},
		{"id persists", "id: 5\ndata: a\n\ndata: b\n\n", []wire.Event{{"5", "message", []byte("a")}, {"5", "message", []byte("b")}}},
		{"id reset", "id: 5\ndata: a\n\nid\ndata: b\n\n", []wire.Event{{"5", "message", []byte("a")}, {"", "message", []byte("b")}}},
		{"id with NUL ignored", "id: 5\ndata: a\n\nid: 6\x00\ndata: b\n\n", []wire.Event{{"5", "message", []byte("a")}, {"5", "message", []byte("b")}}},
		{"no data no event", "event: x\n\ndata: y\n\n", []wire.Event{{"", "message", []byte("y")}}},
		{"empty data dispatches", "data\n\n", []wire.Event{{"", "message", []byte("")}}},
		{"unfinished event dropped", "data: a\n\ndata: b\n", []wire.Event{{"", "message", []byte("a")}}},
		{"type does not persist", "event: t.x\ndata: a\n\ndata: b\n\n", []wire.Event{{"", "t.x", []byte("a")}, {"", "message", []byte("b")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []string{"whole", "byte", "half"} {
				var r io.Reader = strings.NewReader(tc.in)
				switch mode {
				case "byte":
					r = iotest.OneByteReader(r)
				case "half":
					r = iotest.HalfReader(r)
				}
				got, err := readAll(t, r)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
					t.Fatalf("%s: got %q, want %q", mode, got, tc.want)
				}
			}
		})
	}
}

func TestReaderRetryAndLastID(t *testing.T) {
	r := wire.NewReader(strings.NewReader("retry: 1500\nretry: x\nid: 9\ndata: a\n\nid: 10\ndata: b\n"))
	ev, err := r.Next()
	if err != nil || ev.ID != "9" || r.Retry() != 1500*time.Millisecond {
		t.Fatalf("%+v %v %v", ev, err, r.Retry())
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("unfinished frame: %v", err)
	}
	// The id of the unfinished frame does not count.
	if r.LastEventID() != "9" {
		t.Fatalf("last event id %q", r.LastEventID())
	}
}

func TestReaderLimit(t *testing.T) {
	r := wire.NewReader(strings.NewReader("data: " + strings.Repeat("x", 100) + "\n\n"))
	r.SetMaxEventSize(50)
	if _, err := r.Next(); !errors.Is(err, wire.ErrFrameTooLarge) {
		t.Fatalf("%v", err)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var b []byte
	b = wire.AppendComment(b, "hello\nworld")
	b = wire.AppendRetry(b, 2*time.Second)
	b = wire.AppendFrame(b, "1", "a.b", []byte(`{"x":1}`))
	b = wire.AppendFrame(b, "2\n", "c\r", []byte("line1\nline2\r\nline3\rline4"))
	b = wire.AppendFrame(b, "", "", nil)
	got, err := readAll(t, iotest.OneByteReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.Event{{"1", "a.b", []byte(`{"x":1}`)}, {"2 ", "c ", []byte("line1\nline2\nline3\nline4")}, {"2 ", "message", []byte("")}}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("got %q", got)
	}
}

// TestClientResumes: the client reconnects after a dropped connection with
// Last-Event-ID and honors retry:; a 4xx stops it; OnConnect reports each
// connection.
func TestClientResumes(t *testing.T) {
	var seen []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last := r.Header.Get("Last-Event-ID")
		seen = append(seen, last)
		if last == "stop" {
			http.Error(w, `{"error":"gone"}`, http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		switch last {
		case "":
			// Cut in the middle of frame 2.
			io.WriteString(w, "retry: 5\n\nid: 1\ndata: one\n\nid: 2\ndata: tw")
		case "1":
			io.WriteString(w, "id: 2\ndata: two\n\nid: stop\ndata: three\n\n")
		}
	}))
	defer ts.Close()
	var got, connects []string
	c := &wire.Client{Retry: time.Hour, OnConnect: func(last string) { connects = append(connects, "["+last+"]") }}
	err := c.Stream(context.Background(), ts.URL, "", func(ev wire.Event) error {
		got = append(got, string(ev.Data))
		return nil
	})
	var se *wire.StatusError
	if !errors.As(err, &se) || se.Code != 403 || se.Temporary() {
		t.Fatalf("err %v", err)
	}
	if strings.Join(got, ",") != "one,two,three" || strings.Join(seen, ",") != ",1,stop" {
		t.Fatalf("got %q, requests %q", got, seen)
	}
	// OnConnect saw the two connections that answered with a stream.
	if strings.Join(connects, "") != "[][1]" {
		t.Fatalf("OnConnect calls %q", connects)
	}
	// fn's error stops the stream and is returned.
	boom := errors.New("boom")
	err = c.Stream(context.Background(), ts.URL, "", func(wire.Event) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("%v", err)
	}
	ts.CloseClientConnections()
}
