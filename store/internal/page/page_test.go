package page

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// rows is a fake table of keys 1..n; key bad fails to read.
func fetchRows(n, bad uint64, calls *int) Fetch[uint64] {
	return func(_ context.Context, after uint64, size int, buf []uint64) ([]uint64, int, uint64, error) {
		*calls++
		rows := 0
		for k := after + 1; k <= n && rows < size; k++ {
			rows++
			if k == bad {
				return buf, rows, k, errors.New("bad row")
			}
			if k%2 == 0 {
				buf = append(buf, k) // only even keys match
			}
			after = k
		}
		return buf, rows, after, nil
	}
}

func collect(t *testing.T, p Pager[uint64]) ([]uint64, error) {
	t.Helper()
	var out []uint64
	for k, err := range Iter(t.Context(), p) {
		if err != nil {
			return out, err
		}
		out = append(out, k)
	}
	return out, nil
}

func TestIter(t *testing.T) {
	var calls int
	got, err := collect(t, Pager[uint64]{Size: 3, Filtered: true, Fetch: fetchRows(10, 0, &calls)})
	if err != nil || !slices.Equal(got, []uint64{2, 4, 6, 8, 10}) {
		t.Fatalf("all: %v, %v", got, err)
	}
	got, err = collect(t, Pager[uint64]{After: 3, Limit: 2, Size: 3, Filtered: true, Fetch: fetchRows(10, 0, &calls)})
	if err != nil || !slices.Equal(got, []uint64{4, 6}) {
		t.Fatalf("after and limit: %v, %v", got, err)
	}
	// Items read before a bad row come first, then the error.
	got, err = collect(t, Pager[uint64]{Size: 4, Filtered: true, Fetch: fetchRows(10, 7, &calls)})
	if err == nil || !slices.Equal(got, []uint64{2, 4, 6}) {
		t.Fatalf("bad row: %v, %v", got, err)
	}
	// Without a Go filter, the page is cut to the limit.
	var sizes []int
	got, err = collect(t, Pager[uint64]{Limit: 5, Size: 4, Fetch: func(_ context.Context, after uint64, size int, buf []uint64) ([]uint64, int, uint64, error) {
		sizes = append(sizes, size)
		for i := range size {
			buf = append(buf, after+uint64(i)+1)
		}
		return buf, size, after + uint64(size), nil
	}})
	if err != nil || !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) || !slices.Equal(sizes, []int{4, 1}) {
		t.Fatalf("limit: %v (page sizes %v), %v", got, sizes, err)
	}
	stop := errors.New("closed")
	if _, err := collect(t, Pager[uint64]{Size: 3, Check: func(context.Context) error { return stop }, Fetch: fetchRows(10, 0, &calls)}); err != stop {
		t.Fatalf("check: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, err := range Iter(ctx, Pager[uint64]{Size: 3, Fetch: fetchRows(10, 0, &calls)}) {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled: %v", err)
		}
	}
}

func TestDecodeFallback(t *testing.T) {
	var logs bytes.Buffer
	d := NewDecoder(slog.New(slog.NewTextHandler(&logs, nil)), "test")
	in := event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: "s", Labels: map[string]string{"k": "v"}})
	good, _ := event.Marshal(in)
	ev, err := d.Decode(good, 3, 9)
	if err != nil || ev.Seq != 3 || ev.Payload != in.Payload {
		t.Fatalf("good event: %+v, %v", ev, err)
	}
	bad := in
	bad.Payload = event.Raw{Name: in.Type, Data: json.RawMessage(`{ "text" : 42 }`)}
	payload := json.RawMessage(`{"text":42}`) // encoded in compact form
	data, _ := event.Marshal(bad)
	for range 3 {
		ev, err = d.Decode(data, 4, 10)
		if err != nil {
			t.Fatal(err)
		}
	}
	raw, ok := ev.Payload.(event.Raw)
	if !ok || raw.Name != in.Type || string(raw.Data) != string(payload) || ev.Type != in.Type || ev.ID != in.ID ||
		ev.Meta.Labels["k"] != "v" || !ev.Time.Equal(in.Time) || ev.Seq != 4 {
		t.Fatalf("fallback: %#v", ev)
	}
	if n := strings.Count(logs.String(), "event.Raw"); n != 1 {
		t.Fatalf("fallback logged %d times, want once:\n%s", n, logs.String())
	}
	for _, data := range []string{`not json`, `{"type":"message.text.delta"}`, `{"payload":{}}`,
		`{"type":"message.text.delta","payload":{},"meta":{"session":1}}`, `{"type":"message.text.delta","payload":{}`} {
		_, err := d.Decode([]byte(data), 5, 11)
		if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "seq 5 at position 11") {
			t.Fatalf("Decode(%s): %v, want ErrCorrupt naming seq and position", data, err)
		}
	}
}

func TestTypeFilter(t *testing.T) {
	for _, c := range []struct {
		p             string
		exact, prefix string
		inGo          bool
	}{
		{"", "", "", false},
		{"a.b", "a.b", "", false},
		{"a.*", "", "a.", true},
		{"a.>", "", "a.", true},
		{"*.b", "", "", true},
	} {
		var p event.Pattern
		if c.p != "" {
			p = event.MustPattern(c.p)
		}
		exact, prefix, inGo := TypeFilter(p)
		if exact != c.exact || prefix != c.prefix || inGo != c.inGo {
			t.Errorf("TypeFilter(%q) = %q, %q, %v", c.p, exact, prefix, inGo)
		}
	}
}
