package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/wire"
)

// EpochHeader is the response header that names the log a server serves
// (store.Store.Epoch, in hex). A client that keeps cursors sends it back
// (as this header, or the epoch parameter) when it resumes, and a cursor
// from another log — one reset or replaced since — is refused with 409
// stale_cursor instead of silently skipping events.
const EpochHeader = wire.EpochHeader

// readParams are what a page or a stream asks for. They come as URL
// parameters over HTTP and as the params object of a JSON-RPC call, with
// the same names, and both are checked by one function, Server.check.
type readParams struct {
	Session       string `json:"session"`
	SessionPrefix string `json:"session_prefix"`
	After         uint64 `json:"after"`
	Types         string `json:"types"`
	Limit         int    `json:"limit"`
	Epoch         string `json:"epoch"`
}

// params are checked readParams.
type params struct {
	after uint64
	limit int
	types event.Pattern
	// maxBytes bounds the page's encoding: events stop before it would
	// pass it (there is always at least one). 0: no bound.
	maxBytes int
}

// urlParams reads readParams from r: the session from the path (routes
// that have one), the rest from the query and, for a stream, the cursor
// from Last-Event-ID (a reconnecting browser sends it with the original
// URL, so it is the later cursor and wins) and the epoch from EpochHeader.
func urlParams(r *http.Request, stream bool) (readParams, *apiError) {
	q := r.URL.Query()
	rp := readParams{Session: r.PathValue("id"), SessionPrefix: q.Get("session_prefix"), Types: q.Get("types"), Epoch: q.Get("epoch")}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return rp, errorf(http.StatusBadRequest, CodeBadRequest, "after=%q is not a cursor (a non-negative integer)", v)
		}
		rp.After = n
	}
	if stream {
		if v := r.Header.Get("Last-Event-ID"); v != "" {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return rp, errorf(http.StatusBadRequest, CodeBadRequest, "Last-Event-ID %q is not a cursor (a non-negative integer)", v)
			}
			rp.After = n
		}
		if v := r.Header.Get(EpochHeader); v != "" {
			rp.Epoch = v
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return rp, errorf(http.StatusBadRequest, CodeBadRequest, "limit=%q is not a positive integer", v)
		}
		rp.Limit = n
	}
	return rp, nil
}

// check validates rp: the cursor is one the log can have given out (not
// past its end, from this log's epoch), the limit is in range and the type
// pattern parses. A cursor from elsewhere is refused with 409
// stale_cursor: reading on would silently skip the events numbered up to
// it.
func (s *Server) check(ctx context.Context, rp readParams) (params, *apiError) {
	p := params{after: rp.After, limit: DefaultPageLimit}
	switch {
	case rp.After > math.MaxInt64:
		return p, errorf(http.StatusBadRequest, CodeBadRequest, "cursor %d is beyond the largest cursor (%d)", rp.After, int64(math.MaxInt64))
	case rp.Limit < 0:
		return p, errorf(http.StatusBadRequest, CodeBadRequest, "limit %d is negative", rp.Limit)
	case rp.Limit > 0:
		p.limit = min(rp.Limit, MaxPageLimit)
	}
	if rp.Types != "" {
		pat, err := event.ParsePattern(rp.Types)
		if err != nil {
			return p, errorf(http.StatusBadRequest, CodeBadRequest, "types %q: %v", rp.Types, err)
		}
		p.types = pat
	}
	if rp.Epoch != "" && !strings.EqualFold(rp.Epoch, s.epoch) {
		return p, errorf(http.StatusConflict, CodeStaleCursor, "the cursor belongs to log %s, and this server's log is %s (reset or replaced since): start again from 0", rp.Epoch, s.epoch)
	}
	if rp.After == 0 {
		return p, nil
	}
	var end uint64
	if rp.Session != "" {
		si, err := s.st.Session(ctx, rp.Session)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return p, storeError(err)
		}
		end = si.LastSeq
	} else {
		h, err := s.st.Head(ctx)
		if err != nil {
			return p, storeError(err)
		}
		end = h
	}
	if rp.After > end {
		what := "the log's last position"
		if rp.Session != "" {
			what = fmt.Sprintf("the last sequence number of session %q", rp.Session)
		}
		return p, errorf(http.StatusConflict, CodeStaleCursor, "cursor %d is past %s (%d): it comes from a log that was reset or replaced; start again from 0", rp.After, what, end)
	}
	return p, nil
}

// params reads and checks the parameters of an HTTP page or stream.
func (s *Server) params(r *http.Request, stream bool) (readParams, params, *apiError) {
	rp, aerr := urlParams(r, stream)
	if aerr != nil {
		return rp, params{}, aerr
	}
	p, aerr := s.check(r.Context(), rp)
	return rp, p, aerr
}

// selector checks rp for a stream of the key pr's and returns what it
// follows, with the key's restriction applied: its own session, or the
// narrower of the requested and the key's session prefix.
func (s *Server) selector(ctx context.Context, pr principal, rp readParams) (hub.Selector, params, *apiError) {
	sel := hub.Selector{Session: rp.Session}
	if rp.Session != "" {
		if !pr.owns(rp.Session) {
			return sel, params{}, errorf(http.StatusForbidden, CodeForbidden, "key %q may only read sessions starting with %q", pr.name(), pr.prefix())
		}
	} else {
		prefix, ok := prefixFor(pr, rp.SessionPrefix)
		if !ok {
			return sel, params{}, errorf(http.StatusForbidden, CodeForbidden, "key %q may only read sessions starting with %q", pr.name(), pr.prefix())
		}
		sel.SessionPrefix = prefix
	}
	p, aerr := s.check(ctx, rp)
	sel.Types = p.types
	return sel, p, aerr
}
