package server

import (
	"net/http"
	"strings"

	"github.com/sluice-events/sluice/wire"
	"github.com/sluice-events/sluice/wire/agui"
	"github.com/sluice-events/sluice/wire/aisdk"
	"github.com/sluice-events/sluice/wire/cloudevents"
)

// formats are the output formats of the SSE stream endpoints, chosen with
// ?format= (the first is the default).
var formats = []wire.Format{wire.NativeFormat, agui.Format, aisdk.Format, cloudevents.Format}

// formatNames lists the formats for error messages.
func formatNames() string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// encoder returns a new encoder of the format r asks for, sets the
// format's headers in h and, for a format that cannot start mid-stream
// (wire.Resumer) resuming a session after a cursor, returns its prelude
// framed as SSE.
func (s *Server) encoder(r *http.Request, h http.Header, session string, after uint64) (wire.Encoder, []byte, *apiError) {
	name := r.URL.Query().Get("format")
	if name == "" {
		name = formats[0].Name
	}
	var f *wire.Format
	for i := range formats {
		if formats[i].Name == name {
			f = &formats[i]
		}
	}
	if f == nil {
		return nil, nil, errorf(http.StatusBadRequest, CodeBadRequest, "format=%q is not a format; the formats are %s", name, formatNames())
	}
	enc := f.New()
	res, resumes := enc.(wire.Resumer)
	if resumes && session == "" {
		return nil, nil, errorf(http.StatusBadRequest, CodeBadRequest, "format=%s follows one session: use /v1/sessions/{id}/stream", name)
	}
	for k, v := range f.Header {
		h.Set(k, v)
	}
	if !resumes || after == 0 {
		return enc, nil, nil
	}
	tl, err := s.tl.Read(r.Context(), session, after)
	if err != nil {
		return nil, nil, storeError(err)
	}
	msgs, err := res.Resume(nil, tl)
	if err != nil {
		return nil, nil, errorf(http.StatusInternalServerError, CodeInternal, "format=%s: resuming after %d: %v", name, after, err)
	}
	var fr sseFraming
	var b []byte
	for i := range msgs {
		b = fr.appendMessage(b, after, false, &msgs[i])
	}
	return enc, b, nil
}
