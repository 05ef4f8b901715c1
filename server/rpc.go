package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/wire"
)

// JSON-RPC methods.
const (
	MethodPublish     = "events.publish"
	MethodQuery       = "events.query"
	MethodSessions    = "sessions.list"
	MethodSubscribe   = "events.subscribe"
	MethodUnsubscribe = "events.unsubscribe"
	// MethodEvent is the method of the notifications that carry a
	// subscription's events.
	MethodEvent = "event"
	// MethodError is the method of the notification that ends a
	// subscription the server failed to serve; the connection and its
	// other subscriptions go on.
	MethodError = "error"
)

// Server error codes of JSON-RPC errors, in the range the specification
// reserves for implementations; error.data is the same object as the
// "error" member of an HTTP error body.
const (
	RPCUnauthorized = -32001
	RPCForbidden    = -32003
	RPCNotFound     = -32004
	RPCTooLarge     = -32013
	RPCTooMany      = -32029
	RPCUnavailable  = -32053
)

// rpcError turns an API error into a JSON-RPC error.
func rpcError(e *apiError) *wire.Error {
	code := wire.InternalError
	switch e.Status {
	case http.StatusBadRequest:
		code = wire.InvalidParams
	case http.StatusUnauthorized:
		code = RPCUnauthorized
	case http.StatusForbidden:
		code = RPCForbidden
	case http.StatusNotFound:
		code = RPCNotFound
	case http.StatusRequestEntityTooLarge:
		code = RPCTooLarge
	case http.StatusTooManyRequests:
		code = RPCTooMany
	case http.StatusServiceUnavailable:
		code = RPCUnavailable
	}
	return &wire.Error{Code: code, Message: e.Message, Data: e}
}

// publishParams are the params of events.publish: one event or several,
// and a default session for events without one.
type publishParams struct {
	Event   json.RawMessage   `json:"event"`
	Events  []json.RawMessage `json:"events"`
	Session string            `json:"session"`
}

func decodeParams(raw json.RawMessage, v any) *wire.Error {
	if len(raw) == 0 {
		return nil
	}
	if raw[0] != '{' {
		return wire.Errorf(wire.InvalidParams, "invalid params: expected an object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return wire.Errorf(wire.InvalidParams, "invalid params: %v", err)
	}
	return nil
}

func need(p principal, sc Scope) *wire.Error {
	if p.allows(sc) {
		return nil
	}
	return rpcError(errorf(http.StatusForbidden, CodeForbidden, "key %q lacks the %q scope", p.name(), sc))
}

// call runs one request that is not a subscription; a query result fills
// at most room bytes (see answer).
func (s *Server) call(ctx context.Context, p principal, req *wire.Request, room int) (json.RawMessage, *wire.Error) {
	switch req.Method {
	case MethodPublish:
		if e := need(p, ScopeIngest); e != nil {
			return nil, e
		}
		var pp publishParams
		if e := decodeParams(req.Params, &pp); e != nil {
			return nil, e
		}
		raws := pp.Events
		if pp.Event != nil {
			raws = append([]json.RawMessage{pp.Event}, raws...)
		}
		if len(raws) > s.cfg.MaxBatch {
			return nil, rpcError(errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "%d events in one call, more than the limit of %d", len(raws), s.cfg.MaxBatch))
		}
		events := make([]event.Event, len(raws))
		for i, raw := range raws {
			if err := decodeOne(raw, &events[i]); err != nil {
				return nil, rpcError(eventDecodeError(i, 0, raw, err))
			}
		}
		acks, aerr := s.publish(ctx, p, events, pp.Session)
		if aerr != nil {
			return nil, rpcError(aerr)
		}
		return marshal(publishResult{Count: len(acks), Events: acks})
	case MethodQuery:
		if e := need(p, ScopeRead); e != nil {
			return nil, e
		}
		// events.query: with a session, a page of that session (cursor:
		// seq); without, a page of every session (cursor: position).
		var qp readParams
		if e := decodeParams(req.Params, &qp); e != nil {
			return nil, e
		}
		if qp.Session != "" && !p.owns(qp.Session) {
			return nil, rpcError(errorf(http.StatusForbidden, CodeForbidden, "key %q may only read sessions starting with %q", p.name(), p.prefix()))
		}
		pr, aerr := s.check(ctx, qp)
		if aerr != nil {
			return nil, rpcError(aerr)
		}
		pr.maxBytes = room
		var body []byte
		if qp.Session != "" {
			if _, err := s.st.Session(ctx, qp.Session); err != nil {
				return nil, rpcError(storeError(err))
			}
			body, aerr = s.queryPage(ctx, qp.Session, pr)
		} else {
			body, aerr = s.queryAllPage(ctx, p, qp.SessionPrefix, pr)
		}
		if aerr != nil {
			return nil, rpcError(aerr)
		}
		return json.RawMessage(strings.TrimSpace(string(body))), nil
	case MethodSessions:
		if e := need(p, ScopeRead); e != nil {
			return nil, e
		}
		var sp sessionsParams
		if e := decodeParams(req.Params, &sp); e != nil {
			return nil, e
		}
		page, aerr := s.listSessions(ctx, p, sp)
		if aerr != nil {
			return nil, rpcError(aerr)
		}
		return marshal(page)
	case MethodSubscribe, MethodUnsubscribe:
		return nil, wire.Errorf(wire.InvalidRequest, "%s needs a WebSocket connection (/v1/ws), or a single POST /v1/rpc request with Accept: text/event-stream", req.Method)
	}
	return nil, wire.Errorf(wire.MethodNotFound, "method not found: %q", req.Method)
}

// subscription checks the params of events.subscribe.
func (s *Server) subscription(ctx context.Context, p principal, rp readParams) (hub.Selector, uint64, *wire.Error) {
	if e := need(p, ScopeRead); e != nil {
		return hub.Selector{}, 0, e
	}
	sel, pp, aerr := s.selector(ctx, p, rp)
	if aerr != nil {
		return sel, 0, rpcError(aerr)
	}
	return sel, pp.after, nil
}

func marshal(v any) (json.RawMessage, *wire.Error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, wire.Errorf(wire.InternalError, "encoding the result: %v", err)
	}
	return b, nil
}

// appendNotification appends the notification for one event of a
// subscription:
//
//	{"jsonrpc":"2.0","method":"event","params":{"subscription":"1","cursor":7,"event":{…}}}
func appendNotification(b []byte, sub string, cursor uint64, data []byte) []byte {
	b = append(b, `{"jsonrpc":"2.0","method":"event","params":{"subscription":`...)
	b = strconv.AppendQuote(b, sub)
	b = append(b, `,"cursor":`...)
	b = strconv.AppendUint(b, cursor, 10)
	b = append(b, `,"event":`...)
	b = append(b, data...)
	return append(b, '}', '}')
}

// rpcHTTP handles POST /v1/rpc: one request or a batch, answered in one
// JSON body. A single events.subscribe request with Accept:
// text/event-stream is answered with an SSE stream: the response first,
// then one notification per event (each frame's id: is the cursor, for
// Last-Event-ID).
func (s *Server) rpcHTTP(w http.ResponseWriter, r *http.Request) {
	if aerr := needJSON(r, "application/json", "application/json"); aerr != nil {
		writeError(w, aerr)
		return
	}
	body, aerr := s.readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	p := principalOf(r)
	calls, batch, perr := wire.ParseRequests(body, s.cfg.MaxRPCBatch)
	if perr != nil {
		writeRPC(w, wire.Response{Error: perr}.AppendJSON(nil))
		return
	}
	if !batch && calls[0].Err == nil && calls[0].Request.Method == MethodSubscribe {
		req := &calls[0].Request
		if !strings.Contains(r.Header.Get("Accept"), wire.ContentTypeSSE) {
			writeRPC(w, wire.Response{ID: req.ID, Error: wire.Errorf(wire.InvalidRequest,
				"events.subscribe over HTTP needs Accept: text/event-stream (or use the WebSocket at /v1/ws)")}.AppendJSON(nil))
			return
		}
		var rp readParams
		if e := decodeParams(req.Params, &rp); e != nil {
			writeRPC(w, wire.Response{ID: req.ID, Error: e}.AppendJSON(nil))
			return
		}
		// A reconnecting client sends the later cursor (and the epoch)
		// as headers, with the original request.
		hp, aerr := urlParams(r, true)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		if r.Header.Get("Last-Event-ID") != "" {
			rp.After = hp.After
		}
		if hp.Epoch != "" {
			rp.Epoch = hp.Epoch
		}
		sel, after, e := s.subscription(r.Context(), p, rp)
		if e != nil {
			writeRPC(w, wire.Response{ID: req.ID, Error: e}.AppendJSON(nil))
			return
		}
		resp := wire.Response{ID: req.ID, Result: json.RawMessage(`{"subscription":"1"}`)}.AppendJSON(nil)
		s.serveSSE(w, r, sel, after, sseOpts{label: "rpc", first: resp, wrap: func(b []byte, cursor uint64, data []byte) []byte {
			return appendNotification(b, "1", cursor, data)
		}})
		return
	}
	out, n := answer(calls, batch, s.cfg.MaxResponseBytes, func(req *wire.Request, room int) (json.RawMessage, *wire.Error) {
		return s.call(r.Context(), p, req, room)
	})
	if n == 0 {
		// Only notifications: no response body, as the specification says.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeRPC(w, out)
}

// answer runs the calls of one request body (a single request or a batch)
// through run and returns the response body: each response in order, in
// an array for a batch. Notifications run but get no response, except
// those of read-only methods, which would have no effect and are skipped;
// n counts the responses, and with none there is no body to send.
//
// The body stays within budget bytes (give or take one error object per
// call): run is told the room left, which a query fills at most (a page
// cut short says "more"; the first response always gets at least one
// event); a read whose result does not fit after other responses is
// answered with -32013 instead, and once the budget is spent the calls
// left are answered with -32013 without being run. The results of
// notifications count against the budget as well.
func answer(calls []wire.Call, batch bool, budget int, run func(req *wire.Request, room int) (json.RawMessage, *wire.Error)) (out []byte, n int) {
	if batch {
		out = append(out, '[')
	}
	used := 0 // len(out) plus what notifications produced
	for i := range calls {
		c := &calls[i]
		req := &c.Request
		var resp wire.Response
		switch {
		case c.Err != nil:
			resp = wire.Response{ID: req.ID, Error: c.Err}
		case req.IsNotification() && readOnly(req.Method):
			continue
		default:
			room := budget - used - len(req.ID) - len(`,{"jsonrpc":"2.0","id":,"result":}`)
			if room <= 0 {
				if req.IsNotification() {
					continue
				}
				resp = wire.Response{ID: req.ID, Error: overBudget(budget, i)}
				break
			}
			res, e := run(req, room)
			if req.IsNotification() {
				used += len(res)
				continue
			}
			if len(res) > room && n > 0 && readOnly(req.Method) {
				res, e = nil, overBudget(budget, i)
			}
			resp = wire.Response{ID: req.ID, Result: res, Error: e}
		}
		if n > 0 {
			out = append(out, ',')
		}
		before := len(out)
		out = resp.AppendJSON(out)
		used += len(out) - before
		n++
	}
	if batch {
		out = append(out, ']')
	}
	return out, n
}

// readOnly reports whether method only reads: a notification of it would
// have no effect.
func readOnly(method string) bool { return method == MethodQuery || method == MethodSessions }

func overBudget(budget, i int) *wire.Error {
	return rpcError(errorf(http.StatusRequestEntityTooLarge, CodeTooLarge,
		"the response budget of %d bytes is spent by the calls before this one (call %d of the batch): send it again in another request", budget, i))
}

func writeRPC(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}
