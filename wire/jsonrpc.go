package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// JSON-RPC 2.0 error codes (https://www.jsonrpc.org/specification#error_object).
const (
	ParseError     = -32700 // the body is not valid JSON
	InvalidRequest = -32600 // the JSON is not a valid request object
	MethodNotFound = -32601 // no such method
	InvalidParams  = -32602 // the method's parameters are wrong
	InternalError  = -32603 // the server failed
	// ServerError is the first code of the range -32000 to -32099 that the
	// specification reserves for implementation-defined server errors.
	ServerError = -32000
)

// Version is the value of the jsonrpc member of every message.
const Version = "2.0"

// Request is a JSON-RPC 2.0 request, or a notification when ID is nil.
type Request struct {
	// JSONRPC is always "2.0".
	JSONRPC string `json:"jsonrpc"`
	// ID is the request's id (a string, a number or null) exactly as sent;
	// nil for a notification, which gets no response.
	ID json.RawMessage `json:"id,omitempty"`
	// Method is the method to call.
	Method string `json:"method"`
	// Params are the parameters, an object or an array; nil if absent.
	Params json.RawMessage `json:"params,omitempty"`
}

// IsNotification reports whether r expects no response.
func (r *Request) IsNotification() bool { return r.ID == nil }

// Response is a JSON-RPC 2.0 response: Result on success, Error otherwise.
type Response struct {
	// ID is the id of the request answered (null if it could not be read).
	ID json.RawMessage
	// Result is the result's JSON; ignored when Error is set.
	Result json.RawMessage
	// Error is set when the call failed.
	Error *Error
}

// MarshalJSON implements json.Marshaler: exactly one of result and error
// is written, as the specification requires.
func (r Response) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(nil), nil
}

// AppendJSON appends the response's JSON encoding to b.
func (r Response) AppendJSON(b []byte) []byte {
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	if len(r.ID) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, r.ID...)
	}
	if r.Error != nil {
		e, err := json.Marshal(r.Error)
		if err != nil {
			e, _ = json.Marshal(&Error{Code: InternalError, Message: "unencodable error"})
		}
		b = append(b, `,"error":`...)
		b = append(b, e...)
	} else {
		b = append(b, `,"result":`...)
		if len(r.Result) == 0 {
			b = append(b, "null"...)
		} else {
			b = append(b, r.Result...)
		}
	}
	return append(b, '}')
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Response) UnmarshalJSON(data []byte) error {
	var m struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  json.RawMessage `json:"result"`
		Error   *Error          `json:"error"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if m.JSONRPC != Version {
		return fmt.Errorf("jsonrpc: not a 2.0 response")
	}
	*r = Response{ID: m.ID, Result: m.Result, Error: m.Error}
	return nil
}

// Notification is a message without an id: the server sends one for each
// event of a subscription, with Method "event".
type Notification struct {
	// JSONRPC is always "2.0".
	JSONRPC string `json:"jsonrpc"`
	// Method names the notification.
	Method string `json:"method"`
	// Params is its body.
	Params json.RawMessage `json:"params,omitempty"`
}

// Error is a JSON-RPC error object.
type Error struct {
	// Code is one of the standard codes or a server error code.
	Code int `json:"code"`
	// Message says what went wrong in a sentence.
	Message string `json:"message"`
	// Data carries details, such as the index of a bad event.
	Data any `json:"data,omitempty"`
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("jsonrpc error %d: %s", e.Code, e.Message) }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Call is one request of a parsed body: either a valid Request, or the
// Error to answer it with (with ID set if the id could be read).
type Call struct {
	// Request is the request; valid only when Err is nil.
	Request Request
	// Err is set when this element is not a valid request.
	Err *Error
}

// ParseRequests reads a JSON-RPC body: a single request or a batch (an array
// of requests). It returns the calls in order and whether the body was a
// batch. A body that is not JSON gives a ParseError and an empty batch an
// InvalidRequest, as the only result (err); an element of a batch that is
// not a valid request gives a Call with Err set, answered on its own while
// the rest of the batch goes on. At most maxBatch calls are accepted
// (0: any number).
func ParseRequests(data []byte, maxBatch int) (calls []Call, batch bool, err *Error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, false, Errorf(ParseError, "parse error: empty body")
	}
	if !json.Valid(data) {
		return nil, false, Errorf(ParseError, "parse error: the body is not valid JSON")
	}
	if data[0] != '[' {
		return []Call{parseCall(data)}, false, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return nil, false, Errorf(ParseError, "parse error: %v", err)
	}
	if len(elems) == 0 {
		return nil, true, Errorf(InvalidRequest, "invalid request: empty batch")
	}
	if maxBatch > 0 && len(elems) > maxBatch {
		return nil, true, Errorf(InvalidRequest, "invalid request: a batch of %d calls is more than the limit of %d", len(elems), maxBatch)
	}
	calls = make([]Call, len(elems))
	for i, e := range elems {
		calls[i] = parseCall(e)
	}
	return calls, true, nil
}

// parseCall reads one request object (data is valid JSON).
func parseCall(data []byte) Call {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return Call{Err: Errorf(InvalidRequest, "invalid request: not an object")}
	}
	var m struct {
		JSONRPC *string         `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  *string         `json:"method"`
		Params  json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		// A member of the wrong type. Answer with the id if it is usable.
		var idOnly struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(data, &idOnly)
		c := Call{Err: Errorf(InvalidRequest, "invalid request: %v", err)}
		if validID(idOnly.ID) {
			c.Request.ID = idOnly.ID
		}
		return c
	}
	c := Call{Request: Request{JSONRPC: Version, Method: deref(m.Method), Params: m.Params}}
	if m.ID != nil {
		if !validID(m.ID) {
			return Call{Err: Errorf(InvalidRequest, "invalid request: id must be a string, a number or null")}
		}
		c.Request.ID = m.ID
	}
	switch {
	case m.JSONRPC == nil || *m.JSONRPC != Version:
		c.Err = Errorf(InvalidRequest, `invalid request: "jsonrpc" must be "2.0"`)
	case m.Method == nil || *m.Method == "":
		c.Err = Errorf(InvalidRequest, `invalid request: "method" must be a non-empty string`)
	case m.Params != nil && !isStructured(m.Params):
		c.Err = Errorf(InvalidRequest, `invalid request: "params" must be an object or an array`)
	}
	return c
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// validID reports whether id is a string, a number or null.
func validID(id json.RawMessage) bool {
	if len(id) == 0 {
		return false
	}
	switch c := id[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return true
	case bytes.Equal(id, []byte("null")):
		return true
	}
	return false
}

func isStructured(p json.RawMessage) bool {
	return len(p) > 0 && (p[0] == '{' || p[0] == '[')
}
