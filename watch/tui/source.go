package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/wire"
)

// A Source is where the screen's events come from: a Sluice server or a
// hub over a database.
type Source interface {
	// String names the source on screen.
	String() string
	// Sessions lists the sessions the source holds now.
	Sessions(ctx context.Context) ([]store.SessionInfo, error)
	// Follow calls fn with each event of session (of every session when
	// session is "") after the cursor, history first and then live, until
	// ctx ends, fn fails, or the source fails for good. A cursor is a
	// sequence number for one session and a log position for every
	// session. retry, if the source reconnects, is told why and how long it
	// waits before it resumes after the last cursor it delivered.
	Follow(ctx context.Context, session string, after uint64, fn func(cursor uint64, ev event.Event) error, retry func(err error, wait time.Duration)) error
}

// HubSource follows a hub's log: the one way to follow a database.
type HubSource struct {
	// Hub is the hub to follow.
	Hub *hub.Hub
	// Name names the source on screen, such as the database's file name.
	Name string
}

// String returns the source's name.
func (s HubSource) String() string { return s.Name }

// Sessions lists the sessions of the hub's store (the first 10,000).
func (s HubSource) Sessions(ctx context.Context) ([]store.SessionInfo, error) {
	return s.Hub.Store().Sessions(ctx, store.SessionQuery{Limit: maxSessions})
}

// Follow reads a feed of the hub; it never needs to reconnect.
func (s HubSource) Follow(ctx context.Context, session string, after uint64, fn func(uint64, event.Event) error, _ func(error, time.Duration)) error {
	f, err := s.Hub.Subscribe(hub.Selector{Session: session}, after)
	if err != nil {
		return err
	}
	defer f.Close()
	for it, err := range f.All(ctx) {
		if err != nil {
			return err
		}
		if err := fn(it.Cursor, it.Event); err != nil {
			return err
		}
	}
	return nil
}

// ServerSource follows a Sluice server over HTTP: GET /v1/sessions for the
// list, and the SSE streams /v1/stream and /v1/sessions/{id}/stream through
// the resuming client (wire.Client), which reconnects after a dropped
// connection and continues after the last event it delivered.
type ServerSource struct {
	// URL is the server's base URL, such as http://127.0.0.1:7420.
	URL string
	// Key is the API key, sent as a bearer token; empty for none.
	Key string
	// HTTPClient makes the requests; nil means http.DefaultClient for the
	// list and a client without a timeout for the streams.
	HTTPClient *http.Client
	// Retry is the first wait before reconnecting (wire.Client.Retry).
	Retry time.Duration
}

// ErrURL reports a server URL that cannot be used.
var ErrURL = errors.New("tui: not a server URL such as http://127.0.0.1:7420")

// String returns the server's URL, without a password it may hold.
func (s ServerSource) String() string {
	if u, err := url.Parse(s.URL); err == nil {
		return u.Redacted()
	}
	return s.URL
}

// endpoint returns the URL of an API path (escaped) with a query.
func (s ServerSource) endpoint(path string, q url.Values) (string, error) {
	base, err := url.Parse(s.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" {
		return "", fmt.Errorf("%w: %q", ErrURL, s.URL)
	}
	u, err := url.Parse(strings.TrimRight(s.URL, "/") + path)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrURL, s.URL, err)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (s ServerSource) header() http.Header {
	h := http.Header{}
	if s.Key != "" {
		h.Set("Authorization", "Bearer "+s.Key)
	}
	return h
}

// sessionsPage is the body of GET /v1/sessions.
type sessionsPage struct {
	Sessions []struct {
		ID      string    `json:"id"`
		Count   uint64    `json:"count"`
		LastSeq uint64    `json:"last_seq"`
		First   time.Time `json:"first"`
		Last    time.Time `json:"last"`
	} `json:"sessions"`
	Next string `json:"next"`
}

// maxSessions bounds the list read at the start.
const maxSessions = 10_000

// Sessions reads GET /v1/sessions, page after page (up to 10,000
// sessions).
func (s ServerSource) Sessions(ctx context.Context) ([]store.SessionInfo, error) {
	hc := s.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	var out []store.SessionInfo
	after := ""
	for len(out) < maxSessions {
		q := url.Values{"limit": {"1000"}}
		if after != "" {
			q.Set("after", after)
		}
		target, err := s.endpoint("/v1/sessions", q)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header = s.header()
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, &wire.StatusError{Code: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(body)}
		}
		var page sessionsPage
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("GET /v1/sessions: %w", err)
		}
		for _, si := range page.Sessions {
			out = append(out, store.SessionInfo{ID: si.ID, Count: si.Count, LastSeq: si.LastSeq, First: si.First, Last: si.Last})
		}
		if page.Next == "" || len(page.Sessions) == 0 {
			break
		}
		after = page.Next
	}
	return out, nil
}

// Follow streams /v1/stream (every session) or /v1/sessions/{id}/stream
// (waiting for a session that has not started yet).
func (s ServerSource) Follow(ctx context.Context, session string, after uint64, fn func(uint64, event.Event) error, retry func(error, time.Duration)) error {
	path, q := "/v1/stream", url.Values{}
	if session != "" {
		path = "/v1/sessions/" + url.PathEscape(session) + "/stream"
		q.Set("wait", "true")
	}
	target, err := s.endpoint(path, q)
	if err != nil {
		return err
	}
	c := &wire.Client{HTTPClient: s.HTTPClient, Header: s.header(), Retry: s.Retry, OnRetry: retry}
	last := ""
	if after > 0 {
		last = strconv.FormatUint(after, 10)
	}
	return c.Stream(ctx, target, last, func(f wire.Event) error {
		switch f.Type {
		case server.SSEReconnect, server.SSEError:
			return nil // the stream ends; the client resumes
		}
		var ev event.Event
		if err := event.Unmarshal(f.Data, &ev); err != nil {
			return fmt.Errorf("event %s: %w", f.ID, err)
		}
		cursor, err := strconv.ParseUint(f.ID, 10, 64)
		if err != nil {
			return fmt.Errorf("event id %q: not a cursor", f.ID)
		}
		return fn(cursor, ev)
	})
}
