package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/wire/cloudevents"
)

// ack reports one stored event.
type ack struct {
	ID      string `json:"id"`
	Session string `json:"session"`
	Seq     uint64 `json:"seq"`
}

// publishResult is the body of a successful POST /v1/events.
type publishResult struct {
	Count  int   `json:"count"`
	Events []ack `json:"events"`
}

// ingest handles POST /v1/events.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	if aerr := needJSON(r, "application/json (one event or an array), application/x-ndjson, or CloudEvents (application/cloudevents+json, application/cloudevents-batch+json, or binary mode with ce-* headers)", ingestTypes...); aerr != nil {
		s.m.rejected.WithLabelValues(aerr.Code).Inc()
		writeError(w, aerr)
		return
	}
	body, aerr := s.readBody(w, r)
	if aerr != nil {
		s.m.rejected.WithLabelValues(aerr.Code).Inc()
		writeError(w, aerr)
		return
	}
	events, isCE, aerr := parseCloudEvents(r, body, s.cfg.MaxBatch)
	if !isCE && aerr == nil {
		events, aerr = parseEvents(body, s.cfg.MaxBatch)
	}
	if aerr != nil {
		s.m.rejected.WithLabelValues(aerr.Code).Inc()
		writeError(w, aerr)
		return
	}
	acks, aerr := s.publish(r.Context(), principalOf(r), events, r.URL.Query().Get("session"))
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, publishResult{Count: len(acks), Events: acks})
}

// ingestTypes are the content types POST /v1/events accepts.
var ingestTypes = []string{"application/json", "application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/stream+json", cloudevents.ContentType, cloudevents.BatchContentType}

// needJSON refuses a write whose Content-Type is missing or not one of
// types: browsers send other types (text/plain, forms, a Blob without a
// type) without a CORS preflight, so a web page could post them.
func needJSON(r *http.Request, want string, types ...string) *apiError {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if slices.Contains(types, mt) {
		return nil
	}
	what := fmt.Sprintf("Content-Type %q is not accepted", ct)
	if ct == "" {
		what = "a Content-Type is required"
	}
	return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedType, "%s: send %s (with curl: -H 'Content-Type: application/json')", what, want)
}

// readBody reads a request body up to the size limit, within the body
// deadline (Config.BodyTimeout and MinBodyRate).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the body has %d bytes, more than the limit of %d", r.ContentLength, s.cfg.MaxBodyBytes)
	}
	rc := http.NewResponseController(w)
	body, err := io.ReadAll(http.MaxBytesReader(w, &readCloser{&bodyDeadline{
		r: r.Body, rc: rc, start: time.Now(), timeout: s.cfg.BodyTimeout, rate: float64(s.cfg.MinBodyRate),
	}, r.Body}, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the body is larger than the limit of %d bytes", s.cfg.MaxBodyBytes)
		case errors.Is(err, errBodyTimeout):
			w.Header().Set("Connection", "close")
			return nil, errorf(http.StatusRequestTimeout, CodeTimeout, "%v: it must arrive within %v plus 1 s per %d bytes", err, s.cfg.BodyTimeout, s.cfg.MinBodyRate)
		}
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "reading the body: %v", err)
	}
	_ = rc.SetReadDeadline(time.Time{})
	return body, nil
}

// readCloser is a reader with the closer of another.
type readCloser struct {
	io.Reader
	io.Closer
}

// publish completes, checks and appends a batch of events, all or nothing.
// Events without an ID get a new UUIDv7 and events without a time the
// server's clock; events without a session get defSession, if set. Any
// sequence number sent is ignored: the log assigns it.
func (s *Server) publish(ctx context.Context, p principal, events []event.Event, defSession string) ([]ack, *apiError) {
	if len(events) == 0 {
		return nil, errorf(http.StatusBadRequest, CodeBadJSON, "no events in the request")
	}
	now := s.cfg.Clock().UTC()
	for i := range events {
		ev := &events[i]
		if ev.ID == [16]byte{} {
			ev.ID = event.NewID()
		}
		if ev.Time.IsZero() {
			ev.Time = now
		}
		ev.Seq = 0
		if ev.Meta.SessionID == "" {
			ev.Meta.SessionID = defSession
		}
		if err := ev.Validate(); err != nil {
			return nil, s.reject(eventError(http.StatusBadRequest, CodeInvalidEvent, i, ev, err.Error()))
		}
		if ev.Meta.SessionID == "" {
			return nil, s.reject(eventError(http.StatusBadRequest, CodeInvalidEvent, i, ev, "the event has no session (meta.session); set it, or pass ?session=ID"))
		}
		if err := store.CheckNewSessionID(ev.Meta.SessionID); err != nil {
			return nil, s.reject(eventError(http.StatusBadRequest, CodeInvalidEvent, i, ev, err.Error()))
		}
		if !p.owns(ev.Meta.SessionID) {
			return nil, s.reject(eventError(http.StatusForbidden, CodeForbidden, i, ev,
				fmt.Sprintf("key %q may only write sessions starting with %q, not %q", p.name(), p.prefix(), ev.Meta.SessionID)))
		}
	}
	start := time.Now()
	err := s.hub.Append(ctx, events)
	s.m.appendDur.Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, hub.ErrNotDelivered) {
		switch {
		case errors.Is(err, store.ErrInvalid):
			return nil, s.reject(errorf(http.StatusBadRequest, CodeInvalidEvent, "%v", err))
		case errors.Is(err, hub.ErrClosed), errors.Is(err, store.ErrClosed):
			return nil, s.reject(errorf(http.StatusServiceUnavailable, CodeUnavailable, "the server is shutting down; nothing was stored"))
		case ctx.Err() != nil:
			return nil, s.reject(errorf(http.StatusServiceUnavailable, CodeUnavailable, "the request ended before the events were stored: %v", ctx.Err()))
		}
		s.log.Error("server: append failed", "err", err, "events", len(events))
		return nil, s.reject(errorf(http.StatusInternalServerError, CodeInternal, "storing the events failed; nothing was stored"))
	}
	if err != nil {
		s.log.Warn("server: events stored but not delivered to every in-process subscriber", "err", err)
	}
	s.m.ingested.Add(float64(len(events)))
	acks := make([]ack, len(events))
	for i := range events {
		acks[i] = ack{ID: events[i].ID.String(), Session: events[i].Meta.SessionID, Seq: events[i].Seq}
	}
	return acks, nil
}

func (s *Server) reject(e *apiError) *apiError {
	s.m.rejected.WithLabelValues(e.Code).Inc()
	return e
}

func eventError(status int, code string, i int, ev *event.Event, msg string) *apiError {
	e := &apiError{Status: status, Code: code, Index: &i}
	if ev != nil && ev.ID != [16]byte{} {
		e.ID = ev.ID.String()
	}
	e.Message = fmt.Sprintf("event %d", i)
	if e.ID != "" {
		e.Message += " (id " + e.ID + ")"
	}
	e.Message += ": " + msg
	return e
}

// parseEvents reads an ingest body: one JSON event, a JSON array of events,
// or newline-delimited JSON (one event per line; any whitespace between
// objects is accepted). It decodes every event or reports the first that
// fails, by index (and line, for NDJSON), and never more than max events.
func parseEvents(body []byte, max int) ([]event.Event, *apiError) {
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errorf(http.StatusBadRequest, CodeBadJSON, "the body is empty: send one JSON event, a JSON array of events, or one event per line")
	}
	switch trimmed[0] {
	case '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, errorf(http.StatusBadRequest, CodeBadJSON, "the body is not a JSON array of events: %v", err)
		}
		if len(raws) == 0 {
			return nil, errorf(http.StatusBadRequest, CodeBadJSON, "the array holds no events")
		}
		if len(raws) > max {
			return nil, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "%d events in one request, more than the limit of %d", len(raws), max)
		}
		events := make([]event.Event, len(raws))
		for i, raw := range raws {
			if err := decodeOne(raw, &events[i]); err != nil {
				return nil, eventDecodeError(i, 0, raw, err)
			}
		}
		return events, nil
	case '{':
		var events []event.Event
		dec := json.NewDecoder(bytes.NewReader(body))
		for i := 0; ; i++ {
			var raw json.RawMessage
			start := dec.InputOffset()
			err := dec.Decode(&raw)
			if err == io.EOF {
				break
			}
			line := 1 + bytes.Count(body[:start], []byte("\n"))
			if rest := body[start:]; len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
				line += bytes.Count(rest[:len(rest)-len(bytes.TrimLeft(rest, " \t\r\n"))], []byte("\n"))
			}
			if err != nil {
				return nil, &apiError{Status: http.StatusBadRequest, Code: CodeBadJSON, Index: &i, Line: line,
					Message: fmt.Sprintf("event %d (line %d): not valid JSON: %v", i, line, err)}
			}
			if len(events) == max {
				return nil, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "more than the limit of %d events in one request", max)
			}
			events = append(events, event.Event{})
			if err := decodeOne(raw, &events[i]); err != nil {
				return nil, eventDecodeError(i, line, raw, err)
			}
		}
		return events, nil
	}
	return nil, errorf(http.StatusBadRequest, CodeBadJSON, "the body must be a JSON object, an array of objects, or one object per line")
}

func decodeOne(raw json.RawMessage, ev *event.Event) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("an event must be a JSON object")
	}
	return event.Unmarshal(raw, ev)
}

func eventDecodeError(i, line int, raw json.RawMessage, err error) *apiError {
	var probe struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &probe)
	e := &apiError{Status: http.StatusBadRequest, Code: CodeBadJSON, Index: &i, Line: line}
	if len(probe.ID) <= 64 {
		e.ID = probe.ID
	}
	e.Message = fmt.Sprintf("event %d", i)
	if line > 0 {
		e.Message += fmt.Sprintf(" (line %d)", line)
	}
	if e.ID != "" {
		e.Message += " (id " + e.ID + ")"
	}
	e.Message += ": " + err.Error()
	return e
}
