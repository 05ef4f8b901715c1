package server

import (
	"net/http"
)

// deleteSession handles DELETE /v1/sessions/{id}: it removes the session's
// events and summary (store.Store.Delete) and answers
//
//	{"deleted":"s1","count":42}
//
// with the number of events removed, or 404 for an unknown session. A
// tenant key may delete only its own sessions. Clients following the
// session see no more events from it; a later event with the same ID
// starts a new session at sequence number 1.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	id, aerr := s.ownedSession(r, false)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	si, err := s.st.Session(r.Context(), id)
	if err == nil {
		err = s.st.Delete(r.Context(), id)
	}
	s.tl.Forget(id)
	if err != nil {
		writeError(w, storeError(err))
		return
	}
	s.log.Info("server: session deleted", "session", id, "events", si.Count, "key", principalOf(r).name())
	writeJSON(w, http.StatusOK, struct {
		Deleted string `json:"deleted"`
		Count   uint64 `json:"count"`
	}{id, si.Count})
}
