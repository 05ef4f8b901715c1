package server

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/wire/cloudevents"
)

// CloudEvents on the HTTP API: POST /v1/events takes structured
// (application/cloudevents+json), batch (application/cloudevents-batch+json)
// and binary-mode (ce-* headers, a JSON body) CloudEvents; the query pages
// answer a CloudEvents batch to Accept: application/cloudevents-batch+json,
// with the page's next_after and more in these headers.
const (
	NextAfterHeader = "Sluice-Next-After"
	MoreHeader      = "Sluice-More"
)

// parseCloudEvents decodes a CloudEvents request body, if the request
// carries CloudEvents; ok is false for other requests.
func parseCloudEvents(r *http.Request, body []byte, max int) (events []event.Event, ok bool, aerr *apiError) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch {
	case mt == cloudevents.ContentType:
		var ev event.Event
		ev, err = cloudevents.Decode(body)
		events = []event.Event{ev}
	case mt == cloudevents.BatchContentType:
		events, err = cloudevents.DecodeBatch(body)
		if err == nil && len(events) == 0 {
			return nil, true, errorf(http.StatusBadRequest, CodeBadJSON, "the CloudEvents batch holds no events")
		}
		if len(events) > max {
			return nil, true, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "%d events in one request, more than the limit of %d", len(events), max)
		}
	case cloudevents.IsBinary(r.Header):
		var ev event.Event
		ev, err = cloudevents.DecodeBinary(r.Header, body)
		events = []event.Event{ev}
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, true, errorf(http.StatusBadRequest, CodeInvalidEvent, "%v", err)
	}
	return events, true, nil
}

// wantsCloudEvents reports whether a query asks for a CloudEvents batch.
func wantsCloudEvents(r *http.Request) bool {
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := mime.ParseMediaType(strings.TrimSpace(a)); mt == cloudevents.BatchContentType {
			return true
		}
	}
	return false
}

// writePage writes a query page: as it is, or as a CloudEvents batch if r
// asks for one.
func writePage(w http.ResponseWriter, r *http.Request, body []byte) {
	if !wantsCloudEvents(r) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
		return
	}
	var page struct {
		Events    []json.RawMessage                 `json:"events"`
		Entries   []struct{ Event json.RawMessage } `json:"entries"`
		NextAfter uint64                            `json:"next_after"`
		More      bool                              `json:"more"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "re-reading the page: %v", err))
		return
	}
	for _, e := range page.Entries {
		page.Events = append(page.Events, e.Event)
	}
	b := []byte{'['}
	for i, raw := range page.Events {
		var ev event.Event
		err := event.Unmarshal(raw, &ev)
		if i > 0 {
			b = append(b, ',')
		}
		if err == nil {
			b, err = cloudevents.Append(b, &ev)
		}
		if err != nil {
			writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "encoding a CloudEvent: %v", err))
			return
		}
	}
	b = append(b, ']', '\n')
	w.Header().Set("Content-Type", cloudevents.BatchContentType)
	w.Header().Set(NextAfterHeader, strconv.FormatUint(page.NextAfter, 10))
	w.Header().Set(MoreHeader, strconv.FormatBool(page.More))
	w.Write(b)
}
