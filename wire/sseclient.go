package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
	"time"
)

// StatusError reports a response that is not an event stream: an HTTP
// status other than 200, or a 200 with another content type.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// ContentType is the response's Content-Type.
	ContentType string
	// Body is the start of the response body (for a JSON error, the error).
	Body string
}

func (e *StatusError) Error() string {
	if e.Code == http.StatusOK {
		return fmt.Sprintf("sse: response is %q, not an event stream", e.ContentType)
	}
	msg := strings.TrimSpace(e.Body)
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return fmt.Sprintf("sse: HTTP %d: %s", e.Code, msg)
}

// Temporary reports whether reconnecting may help: server errors, 408 and
// 429.
func (e *StatusError) Temporary() bool {
	return e.Code >= 500 || e.Code == http.StatusRequestTimeout || e.Code == http.StatusTooManyRequests
}

// Client follows Server-Sent Events streams and resumes them after a
// dropped connection. The zero Client is ready to use.
type Client struct {
	// HTTPClient makes the requests; nil means a client without a timeout
	// (a stream lasts as long as it lasts).
	HTTPClient *http.Client
	// Header is added to every request, for example Authorization.
	Header http.Header
	// Retry is how long to wait before reconnecting after a stream that
	// worked ends, until the server sends a retry: hint; 0 means 1s.
	Retry time.Duration
	// MaxRetry caps the growing wait between attempts that keep failing;
	// 0 means 30s.
	MaxRetry time.Duration
	// MaxEventSize is the largest event accepted; 0 means
	// DefaultMaxEventSize.
	MaxEventSize int
	// OnRetry, if set, is called before each wait to reconnect with the
	// error that ended the last attempt and the wait.
	OnRetry func(err error, wait time.Duration)
	// OnConnect, if set, is called each time a connection is established
	// (the server answered with an event stream), with the Last-Event-ID
	// it was opened with ("" at the start).
	OnConnect func(lastEventID string)
}

var defaultHTTP = &http.Client{}

// Stream connects to url, calls fn for each event in order, and
// reconnects whenever the connection drops or fails temporarily, sending
// the last event ID it saw (starting with lastEventID, which may be empty)
// in the Last-Event-ID header. A server that keeps the SSE contract, such as
// Sluice's, then continues with the next event: fn sees every event exactly
// once.
//
// Stream returns when ctx ends (ctx.Err()), when fn returns an error (that
// error), when the server answers 204 No Content (nil: the server asks the
// client to stop), or on a response that reconnecting cannot fix: a 4xx
// status other than 408 and 429, or a body that is not an event stream
// (*StatusError).
func (c *Client) Stream(ctx context.Context, url, lastEventID string, fn func(Event) error) error {
	retry := c.Retry
	if retry <= 0 {
		retry = time.Second
	}
	maxRetry := c.MaxRetry
	if maxRetry <= 0 {
		maxRetry = 30 * time.Second
	}
	failures := 0
	st := state{lastID: lastEventID}
	for {
		hint, progressed, err := c.once(ctx, url, &st, fn)
		if hint > 0 {
			retry = hint
		}
		var se *StatusError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			return nil
		case errors.As(err, &se) && !se.Temporary():
			return err
		case errors.Is(err, errStop):
			return errors.Unwrap(err)
		}
		if progressed {
			failures = 0
		}
		wait := retry << min(failures, 16)
		if wait > maxRetry || wait <= 0 {
			wait = maxRetry
		}
		if failures > 0 {
			wait = wait/2 + rand.N(wait/2+1) // jitter repeated failures
		}
		failures++
		if c.OnRetry != nil {
			c.OnRetry(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// errStop wraps an error returned by the caller's fn.
var errStop = errors.New("stopped by the handler")

type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }
func (e stopError) Unwrap() error { return e.err }
func (e stopError) Is(t error) bool {
	return t == errStop
}

// EpochHeader names the log a Sluice server serves. Stream sends back on
// every reconnect the value the first response carried, so that a server
// whose log was reset or replaced meanwhile refuses the stale cursor (409,
// a *StatusError) instead of skipping events.
const EpochHeader = "Sluice-Epoch"

// state is what a Stream carries from one connection to the next.
type state struct {
	lastID string
	epoch  string
}

// once makes one connection. It returns the server's retry hint, whether
// the stream delivered anything, and why it ended (nil only for 204).
func (c *Client) once(ctx context.Context, url string, st *state, fn func(Event) error) (time.Duration, bool, error) {
	lastID := &st.lastID
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, &StatusError{Code: http.StatusBadRequest, Body: err.Error()}
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", ContentTypeSSE)
	req.Header.Set("Cache-Control", "no-cache")
	if *lastID != "" {
		req.Header.Set("Last-Event-ID", *lastID)
	}
	if st.epoch != "" {
		req.Header.Set(EpochHeader, st.epoch)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return 0, false, nil
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if resp.StatusCode != http.StatusOK || mt != ContentTypeSSE {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, false, &StatusError{Code: resp.StatusCode, ContentType: ct, Body: string(body)}
	}
	if e := resp.Header.Get(EpochHeader); e != "" && st.epoch == "" {
		st.epoch = e
	}
	if c.OnConnect != nil {
		c.OnConnect(*lastID)
	}
	r := NewReader(resp.Body)
	if c.MaxEventSize > 0 {
		r.SetMaxEventSize(c.MaxEventSize)
	}
	r.SetLastEventID(*lastID)
	progressed := false
	for {
		ev, err := r.Next()
		*lastID = r.LastEventID()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return r.Retry(), progressed, err
		}
		progressed = true
		if err := fn(ev); err != nil {
			return r.Retry(), progressed, stopError{err}
		}
	}
}
