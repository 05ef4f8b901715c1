package wire_test

import (
	"encoding/json"
	"testing"

	"github.com/sluice-events/sluice/wire"
)

func TestParseRequests(t *testing.T) {
	calls, batch, err := wire.ParseRequests([]byte(`{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1}}`), 0)
	if err != nil || batch || len(calls) != 1 || calls[0].Err != nil || calls[0].Request.Method != "m" || string(calls[0].Request.ID) != "1" {
		t.Fatalf("%+v %v %v", calls, batch, err)
	}
	calls, batch, err = wire.ParseRequests([]byte(`[{"jsonrpc":"2.0","method":"n"},1,{"jsonrpc":"2.0","id":"x","method":5},{"jsonrpc":"2.0","id":{},"method":"m"},{"jsonrpc":"2.0","id":null,"method":"m","params":3}]`), 0)
	if err != nil || !batch || len(calls) != 5 {
		t.Fatalf("%+v %v", calls, err)
	}
	if calls[0].Err != nil || !calls[0].Request.IsNotification() {
		t.Fatalf("notification: %+v", calls[0])
	}
	for i := 1; i < 5; i++ {
		if calls[i].Err == nil || calls[i].Err.Code != wire.InvalidRequest {
			t.Fatalf("call %d: %+v", i, calls[i])
		}
	}
	if string(calls[2].Request.ID) != `"x"` {
		t.Fatalf("id of a bad request lost: %+v", calls[2])
	}
	for in, code := range map[string]int{"": wire.ParseError, "{": wire.ParseError, "[]": wire.InvalidRequest, "[1,2,3]": wire.InvalidRequest} {
		_, _, err := wire.ParseRequests([]byte(in), 2)
		if err == nil || err.Code != code {
			t.Errorf("%q: %v, want %d", in, err, code)
		}
	}
}

func TestResponseJSON(t *testing.T) {
	b, _ := json.Marshal(wire.Response{ID: json.RawMessage(`1`), Result: json.RawMessage(`{"a":1}`)})
	if string(b) != `{"jsonrpc":"2.0","id":1,"result":{"a":1}}` {
		t.Fatal(string(b))
	}
	b, _ = json.Marshal(wire.Response{Error: wire.Errorf(wire.MethodNotFound, "no %s", "x")})
	if string(b) != `{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"no x"}}` {
		t.Fatal(string(b))
	}
	var r wire.Response
	if err := json.Unmarshal(b, &r); err != nil || r.Error.Code != wire.MethodNotFound {
		t.Fatalf("%+v %v", r, err)
	}
}
