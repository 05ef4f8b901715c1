package event_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sluice-events/sluice/event"
)

func marshal(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// checkJSONString checks that AppendJSONString(s) is a JSON string that
// decodes to what encoding/json's encoding of s decodes to (invalid UTF-8
// as U+FFFD), and that it keeps the prefix it appends to.
func checkJSONString(t *testing.T, s string) {
	t.Helper()
	got := event.AppendJSONString([]byte("x"), s)
	if got[0] != 'x' {
		t.Fatalf("the prefix was lost: %s", got)
	}
	var a, b string
	if err := json.Unmarshal(got[1:], &a); err != nil {
		t.Fatalf("AppendJSONString(%q) = %s: not a JSON string: %v", s, got[1:], err)
	}
	json.Unmarshal(marshal(s), &b)
	if a != b {
		t.Fatalf("AppendJSONString(%q) decodes to %q, encoding/json's to %q", s, a, b)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\n\r\t\b\f\x00\x1f", "°C ✓ \u2028\u2029", "bad \xff utf8", "<html>&"} {
		checkJSONString(t, s)
	}
	// Plain text is copied as it is.
	if got := event.AppendJSONString(nil, "It's 18 °C <ok> & more"); string(got) != `"It's 18 °C <ok> & more"` {
		t.Fatalf("got %s", got)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("hi \"there\"\n\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) { checkJSONString(t, s) })
}
