package main

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/wire"
)

// TestUnknownPayloadStaysClean: an event of a type nobody registered,
// posted with raw line breaks between its tokens and invalid UTF-8 in a
// string, comes out of replay --format json, tail --format json and the
// SSE stream as one line of valid JSON, in the same compact form everywhere.
func TestUnknownPayloadStaysClean(t *testing.T) {
	db := filepath.Join(t.TempDir(), "raw.db")
	base, _, stop := startServe(t, "--db", db)
	body := "{\"type\":\"otherapp.thing\",\"meta\":{\"session\":\"raw-1\"},\"payload\":{\r\n  \"a\" : [1,\r\n 2.50],\n  \"s\": \"bad \xff byte\"\r\n}}"
	if code := post(t, base+"/v1/events", "", body); code != 200 {
		t.Fatalf("post: %d", code)
	}
	const want = `"payload":{"a":[1,2.50],"s":"bad \ufffd byte"}}`

	check := func(what, out string) {
		t.Helper()
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, want+"\n") {
			t.Errorf("%s printed %q, want one line ending %s", what, out, want)
		}
		if vout, _, err := run(t, out, "validate", "-"); err != nil {
			t.Errorf("sluice validate rejects the %s output: %v\n%s", what, err, vout)
		}
	}

	tailOut, _, stopTail := start(t, "tail", base, "--session", "raw-1", "--format", "json")
	waitFor(t, "tail", func() bool { return strings.Contains(tailOut.String(), "\n") })
	stopTail()
	check("tail", tailOut.String())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errGot := errors.New("got it")
	var data string
	err := (&wire.Client{Header: http.Header{}}).Stream(ctx, base+"/v1/sessions/raw-1/stream", "", func(ev wire.Event) error {
		data = string(ev.Data)
		return errGot
	})
	if !errors.Is(err, errGot) || !strings.HasSuffix(data, want) {
		t.Errorf("SSE data %q (%v), want it to end %s", data, err, want)
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "", "replay", "--db", db, "--session", "raw-1", "--speed", "0", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	check("replay", out)
}
