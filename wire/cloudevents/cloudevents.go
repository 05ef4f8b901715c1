// Package cloudevents encodes Sluice events as CloudEvents 1.0 in the
// structured JSON format, and decodes CloudEvents (structured, batch and
// HTTP binary mode) back into Sluice events.
//
// An event becomes:
//
//	{"specversion":"1.0","id":"<event ID>","source":"/sluice/sessions/<session>",
//	 "type":"<event type>","time":"<RFC 3339>","subject":"<session>",
//	 "datacontenttype":"application/json","data":<payload>,
//	 "sequence":"<seq>","runid":"…","conversationid":"…", …}
//
// The correlation metadata travels as extension attributes (lowercase
// names: runid, conversationid, turnid, inferenceid, messageid,
// toolcallid, requestid, parentid, provider, model; labels as a JSON
// object in a string, sluicelabels), and the log's sequence number as the
// sequence extension, so a Sluice event survives the round trip. The
// stream endpoints serve this with ?format=cloudevents, the query endpoints
// with Accept: application/cloudevents-batch+json, and POST /v1/events
// accepts it.
package cloudevents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/wire"
)

// Media types and the spec version.
const (
	ContentType      = "application/cloudevents+json"
	BatchContentType = "application/cloudevents-batch+json"
	SpecVersion      = "1.0"
)

// Name is the format's name on the stream endpoints (?format=cloudevents).
const Name = "cloudevents"

// Format is the CloudEvents format for the server.
var Format = wire.Format{Name: Name, New: func() wire.Encoder { return Encoder{} }}

// ErrInvalid reports input that is not a CloudEvent Sluice can take.
var ErrInvalid = errors.New("cloudevents: invalid event")

// Encoder encodes each event as one structured CloudEvent. It keeps no
// state.
type Encoder struct{}

// Encode implements wire.Encoder.
func (Encoder) Encode(out []wire.Message, ev *event.Event, native []byte) ([]wire.Message, error) {
	b, err := Append(nil, ev)
	if err != nil {
		return out, err
	}
	return append(out, wire.Message{Data: b}), nil
}

// structured is a CloudEvent in the structured JSON format, with Sluice's
// extension attributes.
type structured struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            string          `json:"time,omitempty"`
	Subject         string          `json:"subject,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
	DataBase64      string          `json:"data_base64,omitempty"`
	Sequence        string          `json:"sequence,omitempty"`
	RunID           string          `json:"runid,omitempty"`
	ConversationID  string          `json:"conversationid,omitempty"`
	TurnID          string          `json:"turnid,omitempty"`
	InferenceID     string          `json:"inferenceid,omitempty"`
	MessageID       string          `json:"messageid,omitempty"`
	ToolCallID      string          `json:"toolcallid,omitempty"`
	RequestID       string          `json:"requestid,omitempty"`
	ParentID        string          `json:"parentid,omitempty"`
	Provider        string          `json:"provider,omitempty"`
	Model           string          `json:"model,omitempty"`
	Labels          string          `json:"sluicelabels,omitempty"`
}

// Source returns the CloudEvents source of a session's events.
func Source(session string) string {
	if session == "" {
		return "/sluice"
	}
	return "/sluice/sessions/" + url.PathEscape(session)
}

// Append appends ev as a structured CloudEvent (JSON) to b.
func Append(b []byte, ev *event.Event) ([]byte, error) {
	// The payload's JSON, as the event codec writes it: encode the event
	// with nothing but its type and payload, and cut the payload out.
	bare := event.Event{Type: ev.Type, Payload: ev.Payload}
	p, err := bare.AppendJSON(nil)
	if err != nil {
		return b, err
	}
	i := bytes.Index(p, []byte(`"payload":`))
	if i < 0 || p[len(p)-1] != '}' {
		return b, fmt.Errorf("%w: no payload in %s", ErrInvalid, p)
	}
	payload := p[i+len(`"payload":`) : len(p)-1]
	m := &ev.Meta
	c := structured{
		SpecVersion: SpecVersion, ID: ev.ID.String(), Source: Source(m.SessionID), Type: string(ev.Type),
		Subject: m.SessionID, DataContentType: "application/json",
		RunID: m.RunID, ConversationID: m.ConversationID, TurnID: m.TurnID, InferenceID: m.InferenceID,
		MessageID: m.MessageID, ToolCallID: m.ToolCallID, RequestID: m.RequestID, ParentID: m.ParentID,
		Provider: m.Provider, Model: m.Model,
	}
	if !ev.Time.IsZero() {
		c.Time = ev.Time.UTC().Format(time.RFC3339Nano)
	}
	if ev.Seq != 0 {
		c.Sequence = strconv.FormatUint(ev.Seq, 10)
	}
	if len(m.Labels) > 0 {
		l, _ := json.Marshal(m.Labels)
		c.Labels = string(l)
	}
	attrs, err := json.Marshal(c) // the data is spliced in after, unchanged
	if err != nil {
		return b, err
	}
	b = append(b, attrs[:len(attrs)-1]...)
	b = append(b, `,"data":`...)
	b = append(b, payload...)
	return append(b, '}'), nil
}

// Decode decodes one structured CloudEvent (JSON) into a Sluice event. The
// data must be JSON (datacontenttype absent or a JSON media type); the
// sequence extension is ignored (the log numbers what it stores).
func Decode(data []byte) (event.Event, error) {
	var c structured
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return event.Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return c.event()
}

// DecodeBatch decodes a batch (a JSON array of structured CloudEvents).
func DecodeBatch(data []byte) ([]event.Event, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("%w: a batch must be a JSON array of events: %v", ErrInvalid, err)
	}
	out := make([]event.Event, 0, len(raws))
	for i, r := range raws {
		ev, err := Decode(r)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// IsBinary reports whether h carries a CloudEvent in HTTP binary mode (a
// ce-specversion header).
func IsBinary(h http.Header) bool { return h.Get("ce-specversion") != "" }

// DecodeBinary decodes a CloudEvent in HTTP binary mode: the attributes in
// ce-* headers, the data in body (JSON, as the Content-Type says).
func DecodeBinary(h http.Header, body []byte) (event.Event, error) {
	get := func(name string) string {
		v := h.Get("ce-" + name)
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
		return v
	}
	c := structured{
		SpecVersion: get("specversion"), ID: get("id"), Source: get("source"), Type: get("type"), Time: get("time"),
		Subject: get("subject"), DataContentType: h.Get("Content-Type"), Data: body,
		RunID: get("runid"), ConversationID: get("conversationid"), TurnID: get("turnid"), InferenceID: get("inferenceid"),
		MessageID: get("messageid"), ToolCallID: get("toolcallid"), RequestID: get("requestid"), ParentID: get("parentid"),
		Provider: get("provider"), Model: get("model"), Labels: get("sluicelabels"),
	}
	if len(bytes.TrimSpace(body)) == 0 {
		c.Data = nil
	}
	return c.event()
}

// isJSON reports whether a datacontenttype is JSON.
func isJSON(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// event turns c into a Sluice event through the event codec, so the
// payload decodes to its catalog type.
func (c *structured) event() (event.Event, error) {
	switch {
	case c.SpecVersion != SpecVersion:
		return event.Event{}, fmt.Errorf("%w: specversion %q (Sluice takes %q)", ErrInvalid, c.SpecVersion, SpecVersion)
	case c.ID == "" || c.Source == "" || c.Type == "":
		return event.Event{}, fmt.Errorf("%w: id, source and type are required", ErrInvalid)
	case c.DataBase64 != "" || !isJSON(c.DataContentType):
		return event.Event{}, fmt.Errorf("%w: the data must be JSON (datacontenttype %q)", ErrInvalid, c.DataContentType)
	}
	if c.Data != nil && !json.Valid(c.Data) {
		return event.Event{}, fmt.Errorf("%w: the data is not valid JSON", ErrInvalid)
	}
	meta := map[string]any{
		"run": c.RunID, "session": c.Subject, "conversation": c.ConversationID, "turn": c.TurnID,
		"inference": c.InferenceID, "message": c.MessageID, "tool_call": c.ToolCallID, "request": c.RequestID,
		"parent": c.ParentID, "provider": c.Provider, "model": c.Model,
	}
	for k, v := range meta {
		if v == "" {
			delete(meta, k)
		}
	}
	if c.Labels != "" {
		var l map[string]string
		if err := json.Unmarshal([]byte(c.Labels), &l); err != nil {
			return event.Event{}, fmt.Errorf("%w: sluicelabels is not a JSON object of strings: %v", ErrInvalid, err)
		}
		meta["labels"] = l
	}
	n := map[string]any{"type": c.Type, "meta": meta}
	if c.Time != "" {
		n["time"] = c.Time
	}
	if c.Data != nil {
		n["payload"] = c.Data
	}
	b, err := json.Marshal(n)
	if err != nil {
		return event.Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var ev event.Event
	if err := event.Unmarshal(b, &ev); err != nil {
		return event.Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// A CloudEvent's id is any string; Sluice's is a UUID. Keep a UUID,
	// else derive one from the source and id (the pair that identifies a
	// CloudEvent), so the same CloudEvent always gets the same ID.
	if id, err := uuidOf(c.ID); err == nil {
		ev.ID = id
	} else {
		ev.ID = derivedID(c.Source, c.ID)
	}
	return ev, nil
}

// namespace is the UUID namespace of IDs derived from CloudEvent ids.
var namespace = uuid.MustParse("5f0e4a52-6b1f-4d3c-9a57-2c4f8e1d0b6a")

func uuidOf(s string) (uuid.UUID, error) { return uuid.Parse(s) }

func derivedID(source, id string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte(source+"\x00"+id))
}
