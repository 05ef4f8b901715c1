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
	"github.com/sluice-events/sluice/timeline"
)

// sessionJSON is a session in responses.
type sessionJSON struct {
	ID      string    `json:"id"`
	Count   uint64    `json:"count"`
	LastSeq uint64    `json:"last_seq"`
	LastPos uint64    `json:"last_pos"`
	First   time.Time `json:"first,omitzero"`
	Last    time.Time `json:"last,omitzero"`
	// Summary is the session's timeline summary (GET /v1/sessions?summary=1).
	Summary *timeline.Summary `json:"summary,omitempty"`
}

func toSessionJSON(si store.SessionInfo) sessionJSON {
	return sessionJSON{ID: si.ID, Count: si.Count, LastSeq: si.LastSeq, LastPos: si.LastPos, First: si.First, Last: si.Last}
}

// sessionsPage is the body of GET /v1/sessions.
type sessionsPage struct {
	Sessions []sessionJSON `json:"sessions"`
	// Next, when set, is the after= value of the next page (order=id).
	Next string `json:"next,omitempty"`
	// NextBefore, when set, is the before= value of the next page
	// (order=recent).
	NextBefore uint64 `json:"next_before,omitempty"`
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

// Session orders of GET /v1/sessions (order=).
const (
	orderID     = "id"     // by ID, paged with after=
	orderRecent = "recent" // newest activity first, paged with before=
)

// sessions handles GET
// /v1/sessions?prefix=&order=&after=&before=&types=&limit=&summary=; with
// summary=1 each session carries its timeline summary (see summarize) and
// a page holds at most MaxSummaryPage sessions.
func (s *Server) sessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sp := sessionsParams{Prefix: q.Get("prefix"), Order: q.Get("order"), After: q.Get("after"), Types: q.Get("types")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "limit=%q is not a positive integer", v))
			return
		}
		sp.Limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "before=%q is not a cursor (a positive integer: the next_before of a page)", v))
			return
		}
		sp.Before = n
	}
	summary := q.Get("summary")
	if summary != "" && summary != "0" && summary != "1" {
		writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "summary=%q is not 0 or 1", summary))
		return
	}
	if summary == "1" && (sp.Limit == 0 || sp.Limit > MaxSummaryPage) {
		sp.Limit = MaxSummaryPage
	}
	page, aerr := s.listSessions(r.Context(), principalOf(r), sp)
	if aerr == nil && summary == "1" {
		aerr = s.summarize(r.Context(), page.Sessions)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// sessionsParams are the parameters of a sessions page: URL parameters
// over HTTP, the params of sessions.list over JSON-RPC, checked by
// listSessions.
type sessionsParams struct {
	Prefix string `json:"prefix"`
	Order  string `json:"order"`
	After  string `json:"after"`
	Before uint64 `json:"before"`
	Types  string `json:"types"`
	Limit  int    `json:"limit"`
}

// query checks sp and returns the store query of its first page and its
// type filter.
func (sp sessionsParams) query() (store.SessionQuery, event.Pattern, *apiError) {
	q := store.SessionQuery{Prefix: sp.Prefix, After: sp.After, Before: sp.Before, Limit: min(sp.Limit, MaxPageLimit)}
	var types event.Pattern
	switch {
	case sp.Limit < 0:
		return q, types, errorf(http.StatusBadRequest, CodeBadRequest, "limit %d is negative", sp.Limit)
	case sp.Order == orderRecent:
		q.Order = store.ByActivity
	case sp.Order != "" && sp.Order != orderID:
		return q, types, errorf(http.StatusBadRequest, CodeBadRequest, "order %q: want %q (by ID, the default) or %q (newest activity first)", sp.Order, orderID, orderRecent)
	}
	switch {
	case q.Order == store.ByActivity && sp.After != "":
		return q, types, errorf(http.StatusBadRequest, CodeBadRequest, "after pages order=%s; order=%s pages with before", orderID, orderRecent)
	case q.Order == store.ByID && sp.Before != 0:
		return q, types, errorf(http.StatusBadRequest, CodeBadRequest, "before pages order=%s; order=%s pages with after", orderRecent, orderID)
	}
	if q.Limit == 0 {
		q.Limit = DefaultPageLimit
	}
	if sp.Types != "" {
		pat, err := event.ParsePattern(sp.Types)
		if err != nil {
			return q, types, errorf(http.StatusBadRequest, CodeBadRequest, "types %q: %v", sp.Types, err)
		}
		types = pat
	}
	return q, types, nil
}

// listSessions answers a sessions page. With a type filter it walks the
// store's order and keeps the sessions that hold an event of a matching
// type, each checked with one read that stops at the first match but may
// go through all the session's stored events. So one page examines
// sessions only while their stored events add up to at most MaxScan and
// their number to at most MaxSessionScan (but always one, so that paging
// advances): a page that reached either bound ends early, possibly short
// or empty, with the cursor of the last session examined, and the client
// goes on from there. A page has a next cursor when it is full or was cut
// short; the listing ends with a page without one.
func (s *Server) listSessions(ctx context.Context, p principal, sp sessionsParams) (sessionsPage, *apiError) {
	page := sessionsPage{Sessions: []sessionJSON{}}
	q, types, aerr := sp.query()
	if aerr != nil {
		return page, aerr
	}
	prefix, ok := prefixFor(p, sp.Prefix)
	if !ok {
		return page, nil
	}
	q.Prefix = prefix
	limit, filtering := q.Limit, !types.IsZero()
	examined, events := 0, uint64(0)
	var last *store.SessionInfo // the last session examined
	for {
		if filtering {
			if examined == s.cfg.MaxSessionScan {
				page.next(q.Order, last)
				return page, nil
			}
			q.Limit = min(s.cfg.MaxSessionScan-examined, MaxPageLimit)
		}
		infos, err := s.st.Sessions(ctx, q)
		if err != nil {
			return page, storeError(err)
		}
		for i := range infos {
			si := &infos[i]
			if filtering && examined > 0 && (examined == s.cfg.MaxSessionScan || events+si.Count > uint64(s.cfg.MaxScan)) {
				page.next(q.Order, last)
				return page, nil
			}
			examined, events, last = examined+1, events+si.Count, si
			match, aerr := s.hasType(ctx, si, types)
			if aerr != nil {
				return page, aerr
			}
			if match {
				page.Sessions = append(page.Sessions, toSessionJSON(*si))
			}
			if len(page.Sessions) == limit {
				page.next(q.Order, last)
				return page, nil
			}
		}
		if len(infos) < q.Limit || !filtering {
			return page, nil // the end of the listing
		}
		q.After, q.Before = "", 0
		if q.Order == store.ByActivity {
			q.Before = last.LastPos
		} else {
			q.After = last.ID
		}
	}
}

// next sets the page's cursor after the session last.
func (page *sessionsPage) next(order store.SessionOrder, last *store.SessionInfo) {
	if order == store.ByActivity {
		page.NextBefore = last.LastPos
	} else {
		page.Next = last.ID
	}
}

// hasType reports whether si holds an event of a type that matches types
// (every session matches the zero pattern).
func (s *Server) hasType(ctx context.Context, si *store.SessionInfo, types event.Pattern) (bool, *apiError) {
	if types.IsZero() {
		return true, nil
	}
	if si.Count == 0 {
		return false, nil
	}
	for _, err := range s.st.Read(ctx, store.Query{Session: si.ID, Types: types, Limit: 1}) {
		if err != nil {
			return false, storeError(err)
		}
		return true, nil
	}
	return false, nil
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
	pg := s.newPage(append(b, `,"events":[`...), p, !p.types.IsZero(), false)
	q := store.Query{Session: id, After: p.after, Types: p.types, Limit: p.limit + 1}
	if pg.sc.filtering {
		q.Types, q.Limit = event.Pattern{}, pg.sc.max
	}
	for ev, err := range s.st.Read(ctx, q) {
		if err != nil {
			return nil, storeError(err)
		}
		more, aerr := pg.add(ev.Seq, p.types.IsZero() || p.types.Match(ev.Type), &ev)
		if aerr != nil {
			return nil, aerr
		}
		if !more {
			break
		}
	}
	return pg.finish(), nil
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
	prefix, ok := prefixFor(pr, prefix)
	pg := s.newPage(append([]byte(nil), `{"entries":[`...), p, !p.types.IsZero() || prefix != "", true)
	if ok {
		q := store.AllQuery{After: p.after, Types: p.types, SessionPrefix: prefix, Limit: p.limit + 1}
		if pg.sc.filtering {
			q = store.AllQuery{After: p.after, Limit: pg.sc.max}
		}
		for e, err := range s.st.ReadAll(ctx, q) {
			if err != nil {
				return nil, storeError(err)
			}
			match := (p.types.IsZero() || p.types.Match(e.Event.Type)) && strings.HasPrefix(e.Event.Meta.SessionID, prefix)
			more, aerr := pg.add(e.Pos, match, &e.Event)
			if aerr != nil {
				return nil, aerr
			}
			if !more {
				break
			}
		}
	}
	return pg.finish(), nil
}

// page builds the body of a query page: the events (or, with positions,
// {"pos":…,"event":…} entries), then next_after and more.
type page struct {
	b         []byte
	p         params
	sc        scan
	positions bool
	n         int
	last      uint64
	more      bool
}

func (s *Server) newPage(b []byte, p params, filtering, positions bool) *page {
	return &page{b: b, p: p, sc: s.scanner(filtering, p.after), positions: positions, last: p.after}
}

// add adds ev, read at cursor, if match (it passes the filters); it
// reports whether the page takes more.
func (pg *page) add(cursor uint64, match bool, ev *event.Event) (bool, *apiError) {
	if !pg.sc.keep(cursor, match) {
		return true, nil
	}
	if pg.n == pg.p.limit {
		pg.more = true
		return false, nil
	}
	mark := len(pg.b)
	if pg.n > 0 {
		pg.b = append(pg.b, ',')
	}
	if pg.positions {
		pg.b = append(pg.b, `{"pos":`...)
		pg.b = strconv.AppendUint(pg.b, cursor, 10)
		pg.b = append(pg.b, `,"event":`...)
	}
	var err error
	if pg.b, err = ev.AppendJSON(pg.b); err != nil {
		return false, errorf(http.StatusInternalServerError, CodeInternal, "encoding the event at cursor %d: %v", cursor, err)
	}
	if pg.positions {
		pg.b = append(pg.b, '}')
	}
	if pg.p.full(pg.b, pg.n+1) {
		pg.b, pg.more = pg.b[:mark], true
		return false, nil
	}
	pg.n++
	pg.last = cursor
	return true, nil
}

// finish closes the page with next_after and more.
func (pg *page) finish() []byte {
	last, more := pg.sc.end(pg.last, pg.more)
	b := append(pg.b, `],"next_after":`...)
	b = strconv.AppendUint(b, last, 10)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, more)
	return append(b, '}', '\n')
}
