package server

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error codes of JSON error bodies (the "code" member).
const (
	CodeBadRequest      = "bad_request"        // a malformed parameter or header
	CodeBadJSON         = "bad_json"           // the body is not JSON / NDJSON of events
	CodeInvalidEvent    = "invalid_event"      // an event fails validation
	CodeTooLarge        = "too_large"          // the body or batch is over the limit
	CodeUnauthorized    = "unauthorized"       // no key or an unknown key
	CodeForbidden       = "forbidden"          // the key lacks the scope or the session
	CodeNotFound        = "not_found"          // no such session or route
	CodeMethod          = "method_not_allowed" // wrong HTTP method
	CodeTooMany         = "too_many_connections"
	CodeUnavailable     = "unavailable" // shutting down
	CodeInternal        = "internal"
	CodeUnsupportedType = "unsupported_media_type"
	CodeTimeout         = "timeout" // the request body did not arrive in time
	// CodeStaleCursor refuses a cursor this log never gave out: past its
	// end, or from another epoch (see EpochHeader). Start again from 0.
	CodeStaleCursor = "stale_cursor"
	// CodeHostNotAllowed and CodeOriginNotAllowed refuse, on a server
	// without keys, a Host that is not loopback (or allowed) and an Origin
	// that is neither the server's own nor allowed: a web page reached
	// through DNS rebinding or calling across origins.
	CodeHostNotAllowed   = "host_not_allowed"
	CodeOriginNotAllowed = "origin_not_allowed"
)

// apiError is an error with its HTTP status and JSON body.
type apiError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Index is the position of the bad event in the request (from 0).
	Index *int `json:"index,omitempty"`
	// ID is the bad event's id, if it had one.
	ID string `json:"id,omitempty"`
	// Line is the line of the bad event in an NDJSON body (from 1).
	Line int `json:"line,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// writeError writes e as {"error": {...}}.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	if e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(struct {
		Error *apiError `json:"error"`
	}{e})
	w.Write(append(b, '\n'))
}

// writeJSON writes v with status 200.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "encoding the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
