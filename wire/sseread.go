package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// ErrFrameTooLarge reports an SSE line or event larger than the Reader's
// limit.
var ErrFrameTooLarge = errors.New("sse: event too large")

// DefaultMaxEventSize is the largest event (all of its lines together) a
// Reader accepts unless told otherwise.
const DefaultMaxEventSize = 16 << 20

// Event is one event dispatched by an SSE stream.
type Event struct {
	// ID is the stream's last event ID when the event was dispatched: the
	// value of the latest id: field, which carries over to later events that
	// have none. Send it back as Last-Event-ID to resume after this event.
	ID string
	// Type is the event: field, or "message" when the frame had none.
	Type string
	// Data is the data: lines joined with "\n".
	Data []byte
}

// Reader parses a Server-Sent Events stream (text/event-stream) as the HTML
// standard specifies. It is not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	max     int
	started bool // the byte-order mark was checked
	skipLF  bool // the previous line ended with CR: a following LF belongs to it
	line    []byte
	data    []byte
	hasData bool
	typ     []byte
	lastID  string
	idBuf   string
	retry   time.Duration
}

// NewReader returns a Reader of r that accepts events of up to
// DefaultMaxEventSize bytes.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 4096), max: DefaultMaxEventSize}
}

// SetMaxEventSize sets the largest event, in bytes, that Next accepts
// before it fails with ErrFrameTooLarge.
func (r *Reader) SetMaxEventSize(n int) { r.max = n }

// LastEventID returns the stream's last event ID: the id in force at the
// end of the last complete frame (even one that dispatched no event). An
// id: line of a frame that is not finished yet does not count, so a client
// that reconnects with it never skips an event it did not receive.
func (r *Reader) LastEventID() string { return r.lastID }

// SetLastEventID sets the last event ID a stream starts with, as a client
// that resumes knows it.
func (r *Reader) SetLastEventID(id string) { r.lastID, r.idBuf = id, id }

// Retry returns the latest reconnection time the stream sent in a retry:
// field, or 0 if none.
func (r *Reader) Retry() time.Duration { return r.retry }

// Next returns the next event. It returns io.EOF when the stream ends; an
// event that is not finished by a blank line when the stream ends is
// discarded, as the standard says. Other errors are the underlying reader's
// or ErrFrameTooLarge. The returned Data is valid until the next call.
func (r *Reader) Next() (Event, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				r.reset()
			}
			return Event{}, err
		}
		if len(line) == 0 {
			// Dispatch.
			r.lastID = r.idBuf
			if !r.hasData {
				r.reset()
				continue
			}
			data := r.data
			if n := len(data); n > 0 && data[n-1] == '\n' {
				data = data[:n-1]
			}
			typ := "message"
			if len(r.typ) > 0 {
				typ = string(r.typ)
			}
			ev := Event{ID: r.lastID, Type: typ, Data: data}
			r.data, r.hasData, r.typ = r.data[:0], false, r.typ[:0]
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			r.typ = append(r.typ[:0], value...)
		case "data":
			if len(r.data)+len(value)+1 > r.max {
				r.reset()
				return Event{}, fmt.Errorf("%w: more than %d bytes of data", ErrFrameTooLarge, r.max)
			}
			r.data = append(r.data, value...)
			r.data = append(r.data, '\n')
			r.hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.idBuf = string(value)
			}
		case "retry":
			if ms, ok := digits(value); ok {
				r.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}

// reset discards a pending event.
func (r *Reader) reset() {
	r.data, r.hasData, r.typ = r.data[:0], false, r.typ[:0]
}

// digits parses value if it is only ASCII digits.
func digits(value []byte) (int64, bool) {
	if len(value) == 0 || len(value) > 12 {
		return 0, false
	}
	for _, c := range value {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(value), 10, 64)
	return n, err == nil
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// readLine returns the next line without its terminator (CRLF, LF or CR).
// The line is valid until the next call.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	if !r.started {
		b, err := r.br.Peek(1)
		if err != nil {
			return nil, err
		}
		r.started = true
		if b[0] == bom[0] {
			// Only a 3-byte UTF-8 sequence starts with 0xEF, so waiting
			// for 3 bytes cannot stall a well-formed stream.
			if b, _ := r.br.Peek(3); bytes.Equal(b, bom) {
				r.br.Discard(3)
			}
		}
	}
	for {
		n := r.br.Buffered()
		if n == 0 {
			if _, err := r.br.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					return nil, io.EOF
				}
				return nil, err
			}
			continue
		}
		buf, _ := r.br.Peek(n)
		if r.skipLF {
			r.skipLF = false
			if buf[0] == '\n' {
				r.br.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		if i < 0 {
			if len(r.line)+len(buf) > r.max {
				return nil, fmt.Errorf("%w: a line longer than %d bytes", ErrFrameTooLarge, r.max)
			}
			r.line = append(r.line, buf...)
			r.br.Discard(len(buf))
			continue
		}
		if len(r.line)+i > r.max {
			return nil, fmt.Errorf("%w: a line longer than %d bytes", ErrFrameTooLarge, r.max)
		}
		r.line = append(r.line, buf[:i]...)
		r.skipLF = buf[i] == '\r'
		r.br.Discard(i + 1)
		return r.line, nil
	}
}
