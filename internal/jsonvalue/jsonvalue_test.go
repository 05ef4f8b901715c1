package jsonvalue

import (
	"encoding/json"
	"testing"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, ""},
		{json.RawMessage(`{"a":1}`), `{"a":1}`},
		{json.RawMessage(`{bad`), ""},
		{map[string]int{"a": 1}, `{"a":1}`},
		{"text", `"text"`},
		{make(chan int), ""}, // does not encode
	} {
		if got := string(Of(tc.in)); got != tc.want {
			t.Errorf("Of(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{"": "", `{"a":1}`: `{"a":1}`, "42": "42", "sunny": `"sunny"`, `say "hi"`: `"say \"hi\""`} {
		if got := string(Text(in)); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
