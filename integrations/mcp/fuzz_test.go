package sluicemcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	sluicemcp "github.com/sluice-events/sluice/integrations/mcp"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
)

// FuzzEventStore appends what a server writes (any bytes) and replays it:
// Append refuses what is not JSON with ErrInvalid, and gives back the same
// JSON value (compacted) for everything else; nothing panics.
func FuzzEventStore(f *testing.F) {
	for _, seed := range []string{`{"jsonrpc":"2.0","id":1,"result":{}}`, `[1, 2 ,3]`, `"\u00e9"`, `not json`, ``, `{"a":`, "\xff"} {
		f.Add([]byte(seed), "stream-1")
	}
	log, err := memory.New()
	if err != nil {
		f.Fatal(err)
	}
	defer log.Close()
	es, err := sluicemcp.NewEventStore(log)
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	f.Fuzz(func(t *testing.T, data []byte, stream string) {
		n++
		session := "S" + strconv.Itoa(n)
		err := es.Append(ctx, session, stream, data)
		if !json.Valid(data) {
			if err == nil {
				t.Fatalf("Append(%q) took what is not JSON", data)
			}
			return
		}
		if err != nil {
			if errors.Is(err, sluicemcp.ErrInvalid) && errors.Is(err, store.ErrInvalid) {
				return // a stream ID the log refuses in a session name
			}
			t.Fatal(err)
		}
		var got [][]byte
		for d, err := range es.After(ctx, session, stream, -1) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, d)
		}
		var want bytes.Buffer
		if err := json.Compact(&want, data); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("replayed %d messages", len(got))
		}
		var have bytes.Buffer
		if err := json.Compact(&have, got[0]); err != nil || have.String() != want.String() {
			t.Fatalf("replayed %q, want %q (%v)", got[0], want.String(), err)
		}
	})
}
