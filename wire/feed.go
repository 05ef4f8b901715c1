package wire

import (
	"context"
	"net/http"
	"strconv"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
)

// WriteFeed writes the events of feed to w as SSE through enc, after
// prelude, until done reports true for an event written (or the encoder,
// a Finisher, says it finished), ctx ends or the feed fails. Each event's
// last frame carries its cursor as id:. It is the stream of the agent
// handlers (agui.Handler, aisdk.ChatHandler), which serve one run on the
// request's goroutine; the server's streams go through its own loop.
func WriteFeed(ctx context.Context, w http.ResponseWriter, feed *hub.Feed, enc Encoder, prelude []Message, done func(*event.Event) bool) error {
	rc := http.NewResponseController(w)
	fin, _ := enc.(Finisher)
	var buf []byte
	for _, m := range prelude {
		buf = AppendFrame(buf, "", m.Name, m.Data)
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	rc.Flush()
	var msgs []Message
	for {
		it, err := feed.Next(ctx)
		if err != nil {
			return err
		}
		native, err := it.JSON(nil)
		if err != nil {
			return err
		}
		if msgs, err = enc.Encode(msgs[:0], &it.Event, native); err != nil {
			return err
		}
		buf = buf[:0]
		id := strconv.FormatUint(it.Cursor, 10)
		if len(msgs) == 0 {
			buf = append(buf, "id: "+id+"\n\n"...)
		}
		for i, m := range msgs {
			mid := ""
			if i == len(msgs)-1 {
				mid = id
			}
			buf = AppendFrame(buf, mid, m.Name, m.Data)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		rc.Flush()
		if (fin != nil && fin.Finished()) || (done != nil && done(&it.Event)) {
			return nil
		}
	}
}

// WriteError answers a request with status code and a JSON error body,
// {"error":{"code":"<status text>","message":"<err>"}}, as the agent
// handlers do for bad input.
func WriteError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b := append([]byte(`{"error":{"code":`), event.AppendJSONString(nil, http.StatusText(code))...)
	b = append(b, `,"message":`...)
	b = event.AppendJSONString(b, err.Error())
	w.Write(append(b, '}', '}', '\n'))
}
