package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// sessionJSON is a session in responses.
type sessionJSON struct {
	ID      string    `json:"id"`
	Count   uint64    `json:"count"`
	LastSeq uint64    `json:"last_seq"`
	First   time.Time `json:"first,omitzero"`
	Last    time.Time `json:"last,omitzero"`
}

func toSessionJSON(si store.SessionInfo) sessionJSON {
	return sessionJSON{ID: si.ID, Count: si.Count, LastSeq: si.LastSeq, First: si.First, Last: si.Last}
}

// sessionsPage is the body of GET /v1/sessions.
type sessionsPage struct {
	Sessions []sessionJSON `json:"sessions"`
	// Next, when set, is the after= value of the next page.
	Next string `json:"next,omitempty"`
}

// pageTail is room kept at the end of a page for next_after and more.
const pageTail = len(`],"next_after":18446744073709551615,"more":false}` + "\n")

// full reports whether a page of n events encoded in b is over p's byte
// budget; the last event is then taken back.
func (p params) full(b []byte, n int) bool {
	return p.maxBytes > 0 && n > 1 && len(b)+pageTail > p.maxBytes
}

// prefixFor narrows a requested session prefix to the key's; ok is false
// when they cannot overlap.
func prefixFor(p principal, requested string) (string, bool) {
	own := p.prefix()
	switch {
	case strings.HasPrefix(requested, own):
		return requested, true
	case strings.HasPrefix(own, requested):
		return own, true
	}
	return "", false
}

// sessions handles GET /v1/sessions?prefix=&after=&limit=.
func (s *Server) sessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := DefaultPageLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "limit=%q is not a positive integer", v))
			return
		}
		limit = min(n, MaxPageLimit)
	}
	page, aerr := s.listSessions(r.Context(), principalOf(r), q.Get("prefix"), q.Get("after"), limit)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) listSessions(ctx context.Context, p principal, prefix, after string, limit int) (sessionsPage, *apiError) {
	page := sessionsPage{Sessions: []sessionJSON{}}
	prefix, ok := prefixFor(p, prefix)
	if !ok {
		return page, nil
	}
	infos, err := s.st.Sessions(ctx, store.SessionQuery{Prefix: prefix, After: after, Limit: limit})
	if err != nil {
		return page, storeError(err)
	}
	for _, si := range infos {
		page.Sessions = append(page.Sessions, toSessionJSON(si))
	}
	if len(infos) == limit {
		page.Next = infos[len(infos)-1].ID
	}
	return page, nil
}

// ownedSession checks the {id} of a path against the key and the store.
func (s *Server) ownedSession(r *http.Request, mustExist bool) (string, *apiError) {
	id := r.PathValue("id")
	p := principalOf(r)
	if id == "" {
		return "", errorf(http.StatusBadRequest, CodeBadRequest, "empty session id")
	}
	if !p.owns(id) {
		return "", errorf(http.StatusForbidden, CodeForbidden, "key %q may only read sessions starting with %q", p.name(), p.prefix())
	}
	if mustExist {
		if _, err := s.st.Session(r.Context(), id); err != nil {
			return "", storeError(err)
		}
	}
	return id, nil
}

func storeError(err error) *apiError {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, "%v", err)
	case errors.Is(err, store.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeBadRequest, "%v", err)
	case errors.Is(err, store.ErrClosed):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "%v", err)
	}
	return errorf(http.StatusInternalServerError, CodeInternal, "store: %v", err)
}

// session handles GET /v1/sessions/{id}.
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	id, aerr := s.ownedSession(r, false)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	si, err := s.st.Session(r.Context(), id)
	if err != nil {
		writeError(w, storeError(err))
		return
	}
	writeJSON(w, http.StatusOK, toSessionJSON(si))
}

// sessionEvents handles GET /v1/sessions/{id}/events?after=&types=&limit=:
// a page of a session's events in sequence order.
//
//	{"session":"s1","events":[{...},…],"next_after":42,"more":true}
//
// Ask for the next page with after=next_after.
func (s *Server) sessionEvents(w http.ResponseWriter, r *http.Request) {
	id, aerr := s.ownedSession(r, true)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	_, p, aerr := s.params(r, false)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	p.maxBytes = s.cfg.MaxResponseBytes
	body, aerr := s.queryPage(r.Context(), id, p)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writePage(w, r, body)
}

// scan bounds the events a filtered page reads: a type pattern or a
// session prefix could otherwise make one request read the whole log for
// nothing. The page reads at most max events unfiltered and filters them
// itself; when it read them all without filling up, it ends with more and
// the cursor of the last event read, so the client goes on from there.
type scan struct {
	filtering bool
	max       int
	read      int
	cursor    uint64 // of the last event read
}

func (s *Server) scanner(filtering bool, after uint64) scan {
	return scan{filtering: filtering, max: s.cfg.MaxScan, cursor: after}
}

// keep counts an event read at cursor and reports whether the page takes
// it (match: it passes the filters).
func (sc *scan) keep(cursor uint64, match bool) bool {
	sc.read++
	sc.cursor = cursor
	return match
}

// end returns the page's next_after and more: where a scan that read its
// whole allowance stopped, unless the page already ended first.
func (sc *scan) end(last uint64, more bool) (uint64, bool) {
	if sc.filtering && !more && sc.read == sc.max {
		return sc.cursor, true
	}
	return last, more
}

// queryPage encodes a page of one session's events.
func (s *Server) queryPage(ctx context.Context, id string, p params) ([]byte, *apiError) {
	b := append([]byte(nil), `{"session":`...)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"events":[`...)
	n, last, more := 0, p.after, false
	q := store.Query{Session: id, After: p.after, Types: p.types, Limit: p.limit + 1}
	sc := s.scanner(!p.types.IsZero(), p.after)
	if sc.filtering {
		q.Types, q.Limit = event.Pattern{}, sc.max
	}
	for ev, err := range s.st.Read(ctx, q) {
		if err != nil {
			return nil, storeError(err)
		}
		if !sc.keep(ev.Seq, p.types.IsZero() || p.types.Match(ev.Type)) {
			continue
		}
		if n == p.limit {
			more = true
			break
		}
		mark := len(b)
		if n > 0 {
			b = append(b, ',')
		}
		b, err = ev.AppendJSON(b)
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, CodeInternal, "encoding event %d: %v", ev.Seq, err)
		}
		if p.full(b, n+1) {
			b, more = b[:mark], true
			break
		}
		n++
		last = ev.Seq
	}
	last, more = sc.end(last, more)
	b = append(b, `],"next_after":`...)
	b = strconv.AppendUint(b, last, 10)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, more)
	return append(b, '}', '\n'), nil
}

// queryAll handles GET /v1/events?after=&types=&session_prefix=&limit=: a
// page of every session's events (those the key may read) in position
// order, each with its position.
//
//	{"entries":[{"pos":7,"event":{...}},…],"next_after":7,"more":false}
func (s *Server) queryAll(w http.ResponseWriter, r *http.Request) {
	rp, p, aerr := s.params(r, false)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	p.maxBytes = s.cfg.MaxResponseBytes
	body, aerr := s.queryAllPage(r.Context(), principalOf(r), rp.SessionPrefix, p)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writePage(w, r, body)
}

func (s *Server) queryAllPage(ctx context.Context, pr principal, prefix string, p params) ([]byte, *apiError) {
	b := append([]byte(nil), `{"entries":[`...)
	n, last, more := 0, p.after, false
	prefix, ok := prefixFor(pr, prefix)
	sc := s.scanner(!p.types.IsZero() || prefix != "", p.after)
	if ok {
		q := store.AllQuery{After: p.after, Types: p.types, SessionPrefix: prefix, Limit: p.limit + 1}
		if sc.filtering {
			q = store.AllQuery{After: p.after, Limit: sc.max}
		}
		for e, err := range s.st.ReadAll(ctx, q) {
			if err != nil {
				return nil, storeError(err)
			}
			if !sc.keep(e.Pos, (p.types.IsZero() || p.types.Match(e.Event.Type)) && strings.HasPrefix(e.Event.Meta.SessionID, prefix)) {
				continue
			}
			if n == p.limit {
				more = true
				break
			}
			mark := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"pos":`...)
			b = strconv.AppendUint(b, e.Pos, 10)
			b = append(b, `,"event":`...)
			b, err = e.Event.AppendJSON(b)
			if err != nil {
				return nil, errorf(http.StatusInternalServerError, CodeInternal, "encoding event at %d: %v", e.Pos, err)
			}
			b = append(b, '}')
			if p.full(b, n+1) {
				b, more = b[:mark], true
				break
			}
			n++
			last = e.Pos
		}
	}
	last, more = sc.end(last, more)
	b = append(b, `],"next_after":`...)
	b = strconv.AppendUint(b, last, 10)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, more)
	return append(b, '}', '\n'), nil
}
