package wire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/sluice-events/sluice/wire"
)

// FuzzReader: the SSE parser never panics, and gives the same events
// whether the stream arrives whole or one byte at a time.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"id: 1\nevent: a.b\ndata: {}\n\n",
		"data: a\r\ndata: b\r\n\r\n",
		"\xEF\xBB\xBFid: 3\rdata: x\r\r",
		": c\nretry: 10\ndata\n\n",
		"id: \x00\ndata: x\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, err1 := readLimited(bytes.NewReader(in))
		bytewise, err2 := readLimited(iotest.OneByteReader(bytes.NewReader(in)))
		if (err1 == nil) != (err2 == nil) || len(whole) != len(bytewise) {
			t.Fatalf("whole %q (%v) vs bytewise %q (%v)", whole, err1, bytewise, err2)
		}
		for i := range whole {
			if whole[i].ID != bytewise[i].ID || whole[i].Type != bytewise[i].Type || !bytes.Equal(whole[i].Data, bytewise[i].Data) {
				t.Fatalf("event %d differs: %q vs %q", i, whole[i], bytewise[i])
			}
		}
		// Re-encoding what was read reads back the same.
		var b []byte
		for _, ev := range whole {
			b = wire.AppendFrame(b, ev.ID, ev.Type, ev.Data)
		}
		again, _ := readLimited(bytes.NewReader(b))
		if len(again) != len(whole) {
			t.Fatalf("re-encoded %d events, read %d", len(whole), len(again))
		}
	})
}

func readLimited(r io.Reader) ([]wire.Event, error) {
	sr := wire.NewReader(r)
	sr.SetMaxEventSize(1 << 16)
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

// FuzzParseRequests: the JSON-RPC parser never panics, every call is
// either a request with a method or an error, and valid JSON never gives a
// parse error.
func FuzzParseRequests(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"events.query","params":{"session":"s"}}`,
		`[{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":"a","method":"m","params":[1]}]`,
		`[]`, `[1]`, `{`, `null`, `{"jsonrpc":"2.0","id":{},"method":"m"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		calls, _, err := wire.ParseRequests(in, 100)
		if err != nil {
			if err.Code == wire.ParseError && jsonValid(in) {
				t.Fatalf("valid JSON %q gave a parse error", in)
			}
			return
		}
		for _, c := range calls {
			if c.Err == nil && (c.Request.Method == "" || c.Request.JSONRPC != wire.Version) {
				t.Fatalf("accepted %+v", c.Request)
			}
		}
	})
}
