package server

import (
	"net/http"
	"strconv"

	"github.com/sluice-events/sluice/timeline"
)

// sessionTimeline handles GET /v1/sessions/{id}/timeline?until=: the
// session's conversation view (package timeline) folded from its events
// up to the sequence number until (default: all), with that number as
// "seq". A client that then streams the session with after=seq gets
// exactly the events not folded in, and folds them on.
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
	tl, err := timeline.Read(r.Context(), s.st, id, until)
	if err != nil {
		writeError(w, storeError(err))
		return
	}
	writeJSON(w, http.StatusOK, tl)
}
