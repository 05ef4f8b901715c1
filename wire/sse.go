package wire

import (
	"bytes"
	"strconv"
	"time"
)

// ContentTypeSSE is the media type of a Server-Sent Events stream.
const ContentTypeSSE = "text/event-stream"

// AppendFrame appends one SSE frame to b and returns the extended buffer:
//
//	id: <id>
//	event: <typ>
//	data: <data>
//	<blank line>
//
// An empty id or typ leaves its line out. Data that contains line breaks
// (CR, LF or CRLF) becomes several data: lines, which a reader joins back
// with LF; a Sluice event's JSON never contains a raw line break, so it is
// always one line. Line breaks in id or typ would end the field early and
// are replaced by spaces.
func AppendFrame(b []byte, id, typ string, data []byte) []byte {
	if id != "" {
		b = appendField(b, "id", id)
	}
	if typ != "" {
		b = appendField(b, "event", typ)
	}
	b = appendData(b, data)
	return append(b, '\n')
}

// AppendRetry appends a retry: field in its own frame, which tells a client
// how long to wait before reconnecting. It dispatches no event.
func AppendRetry(b []byte, d time.Duration) []byte {
	b = append(b, "retry: "...)
	b = strconv.AppendInt(b, d.Milliseconds(), 10)
	return append(b, '\n', '\n')
}

// AppendComment appends a comment frame (": text"), which clients ignore;
// servers send one as a heartbeat to keep proxies from closing an idle
// stream. Line breaks in text become spaces.
func AppendComment(b []byte, text string) []byte {
	b = append(b, ':')
	if text != "" {
		b = append(b, ' ')
		b = appendLine(b, text)
	}
	return append(b, '\n', '\n')
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ':', ' ')
	b = appendLine(b, value)
	return append(b, '\n')
}

// appendLine appends s with every CR and LF replaced by a space.
func appendLine(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

func appendData(b, data []byte) []byte {
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			b = append(b, "data: "...)
			b = append(b, data...)
			return append(b, '\n')
		}
		b = append(b, "data: "...)
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}
