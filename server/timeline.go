package server

import (
	"context"
	"net/http"
	"strconv"
)

// MaxSummaryPage is the most sessions one GET /v1/sessions?summary=1
// summarizes: a larger limit is lowered to it.
const MaxSummaryPage = DefaultPageLimit

// sessionTimeline handles GET /v1/sessions/{id}/timeline?until=: the
// session's conversation view (package timeline) folded from its events
// up to the sequence number until (default: all), with that number as
// "seq". A client that then streams the session with after=seq gets
// exactly the events not folded in, and folds them on. The folds come
// from the server's timeline.Cache, so a repeated request costs only the
// events appended since. A timeline whose JSON is over MaxResponseBytes
// is refused with 413 (code too_large): fold the session's events
// instead (stream it with after=0).
func (s *Server) sessionTimeline(w http.ResponseWriter, r *http.Request) {
	id, aerr := s.ownedSession(r, true)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var until uint64
	if v := r.URL.Query().Get("until"); v != "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "until=%q is not a sequence number (a non-negative integer)", v))
			return
		}
		until = n
	}
	b, seq, err := s.tl.JSON(r.Context(), id, until)
	if err != nil {
		writeError(w, storeError(err))
		return
	}
	if len(b) > s.cfg.MaxResponseBytes {
		writeError(w, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge,
			"the timeline of %q at seq %d is %d bytes, over the response limit of %d bytes: fold its events instead (stream it with after=0, or page GET /v1/sessions/{id}/events)",
			id, seq, len(b), s.cfg.MaxResponseBytes))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	w.Write([]byte{'\n'})
}

// summarize sets the summary of each session of a page (GET
// /v1/sessions?summary=1) from the server's timeline cache: a session
// unchanged since its last summary costs one event read, one that grew
// by k events k applies, one the cache does not hold all its events. The
// events a request may fold are bounded by MaxScan: the sessions past the
// budget get no summary (the first session always gets one), and later
// requests, which find more of them in the cache, give theirs.
func (s *Server) summarize(ctx context.Context, page []sessionJSON) *apiError {
	var folded uint64
	for i := range page {
		cost := page[i].LastSeq
		if kept := s.tl.Kept(page[i].ID); kept <= cost {
			cost -= kept
		}
		if i > 0 && folded+cost > uint64(s.cfg.MaxScan) {
			continue
		}
		folded += cost
		sum, err := s.tl.Summary(ctx, page[i].ID)
		if err != nil {
			return storeError(err)
		}
		page[i].Summary = &sum
	}
	return nil
}
