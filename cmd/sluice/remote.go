package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// remoteLog is a sessionLog over a Sluice server's HTTP API, so that the
// CLI's session commands work against a server as they do against a
// database file.
type remoteLog struct {
	base string // without a trailing slash
	key  string
	hc   *http.Client
}

// newRemoteLog checks base (a server URL such as http://127.0.0.1:7420)
// and returns a client for it.
func newRemoteLog(base, key string) (*remoteLog, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not a server URL such as http://127.0.0.1:7420", base)
	}
	return &remoteLog{base: strings.TrimRight(u.String(), "/"), key: key, hc: &http.Client{Timeout: time.Minute}}, nil
}

// remotePage is how many events or sessions a request asks for (the
// server's largest page).
const remotePage = 1000

// do makes a request to path and decodes a 2xx JSON answer into out (if
// not nil). Error bodies become errors; 404 wraps store.ErrNotFound.
func (r *remoteLog) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if r.key != "" {
		req.Header.Set("Authorization", "Bearer "+r.key)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		err := fmt.Errorf("%s %s: %s: %s", method, r.base+path, resp.Status, msg)
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w (%w)", err, store.ErrNotFound)
		}
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, r.base+path, err)
	}
	return nil
}

// sessionRow is a session in JSON, as the server answers it and as
// "sluice sessions --json" prints it.
type sessionRow struct {
	ID      string    `json:"id"`
	Count   uint64    `json:"count"`
	LastSeq uint64    `json:"last_seq"`
	LastPos uint64    `json:"last_pos"`
	First   time.Time `json:"first,omitzero"`
	Last    time.Time `json:"last,omitzero"`
}

func (s sessionRow) info() store.SessionInfo {
	return store.SessionInfo{ID: s.ID, Count: s.Count, LastSeq: s.LastSeq, LastPos: s.LastPos, First: s.First, Last: s.Last}
}

// Sessions lists sessions page by page, in q.Order.
func (r *remoteLog) Sessions(ctx context.Context, q store.SessionQuery) ([]store.SessionInfo, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	var out []store.SessionInfo
	after, before := q.After, q.Before
	for {
		v := url.Values{"limit": {strconv.Itoa(remotePage)}}
		if q.Prefix != "" {
			v.Set("prefix", q.Prefix)
		}
		if q.Order == store.ByActivity {
			v.Set("order", "recent")
		}
		if after != "" {
			v.Set("after", after)
		}
		if before != 0 {
			v.Set("before", strconv.FormatUint(before, 10))
		}
		var page struct {
			Sessions   []sessionRow `json:"sessions"`
			Next       string       `json:"next"`
			NextBefore uint64       `json:"next_before"`
		}
		if err := r.do(ctx, "GET", "/v1/sessions?"+v.Encode(), "", nil, &page); err != nil {
			return nil, err
		}
		for _, s := range page.Sessions {
			out = append(out, s.info())
			if q.Limit > 0 && len(out) == q.Limit {
				return out, nil
			}
		}
		if page.Next == "" && page.NextBefore == 0 || len(page.Sessions) == 0 {
			return out, nil
		}
		after, before = page.Next, page.NextBefore
	}
}

// Session returns one session's summary.
func (r *remoteLog) Session(ctx context.Context, id string) (store.SessionInfo, error) {
	var s sessionRow
	if err := r.do(ctx, "GET", "/v1/sessions/"+url.PathEscape(id), "", nil, &s); err != nil {
		return store.SessionInfo{}, err
	}
	return s.info(), nil
}

// Read pages through a session's events. It supports the query's After,
// Types and Limit.
func (r *remoteLog) Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error] {
	return func(yield func(event.Event, error) bool) {
		if !q.Since.IsZero() || !q.Until.IsZero() {
			yield(event.Event{}, fmt.Errorf("%w: a server query has no time bounds", store.ErrInvalid))
			return
		}
		after, n := q.After, 0
		for {
			v := url.Values{"after": {strconv.FormatUint(after, 10)}, "limit": {strconv.Itoa(remotePage)}}
			if !q.Types.IsZero() {
				v.Set("types", q.Types.String())
			}
			var page struct {
				Events    []json.RawMessage `json:"events"`
				NextAfter uint64            `json:"next_after"`
				More      bool              `json:"more"`
			}
			if err := r.do(ctx, "GET", "/v1/sessions/"+url.PathEscape(q.Session)+"/events?"+v.Encode(), "", nil, &page); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return // an unknown session yields nothing, as a store's Read
				}
				yield(event.Event{}, err)
				return
			}
			for _, raw := range page.Events {
				var ev event.Event
				if err := event.Unmarshal(raw, &ev); err != nil {
					yield(event.Event{}, err)
					return
				}
				if !yield(ev, nil) {
					return
				}
				if n++; q.Limit > 0 && n == q.Limit {
					return
				}
			}
			if !page.More || page.NextAfter <= after {
				return
			}
			after = page.NextAfter
		}
	}
}

// remoteBatchBytes bounds the body of one publish request, well under the
// server's default limit of 4 MiB.
const remoteBatchBytes = 1 << 20

// Append posts events as NDJSON, in requests of at most remotePage events
// and about remoteBatchBytes. The server assigns the sequence numbers; they
// are not set in events.
func (r *remoteLog) Append(ctx context.Context, events []event.Event) error {
	var body []byte
	n := 0
	send := func() error {
		if n == 0 {
			return nil
		}
		err := r.do(ctx, "POST", "/v1/events", "application/x-ndjson", bytes.NewReader(body), nil)
		body, n = body[:0], 0
		return err
	}
	for i := range events {
		var err error
		if body, err = events[i].AppendJSON(body); err != nil {
			return err
		}
		body = append(body, '\n')
		if n++; n == remotePage || len(body) >= remoteBatchBytes {
			if err := send(); err != nil {
				return err
			}
		}
	}
	return send()
}

// Delete deletes a session on the server.
func (r *remoteLog) Delete(ctx context.Context, id string) error {
	return r.do(ctx, "DELETE", "/v1/sessions/"+url.PathEscape(id), "", nil, nil)
}

// Close releases idle connections.
func (r *remoteLog) Close() error {
	r.hc.CloseIdleConnections()
	return nil
}
