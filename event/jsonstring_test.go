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

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\n\r\t\x00\x1f", "°C ✓ \u2028\u2029", "bad \xff utf8", "<html>&"} {
		if got, want := event.AppendJSONString(nil, s), marshal(s); !bytes.Equal(got, want) {
			t.Errorf("Append(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("hi \"there\"\n\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := event.AppendJSONString(nil, s), marshal(s); !bytes.Equal(got, want) {
			t.Fatalf("Append(%q) = %s, want %s", s, got, want)
		}
	})
}
