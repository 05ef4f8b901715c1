package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"

	"github.com/sluice-events/sluice/telemetry/otlp"
)

// traces handles POST /v1/traces, OTLP/HTTP trace export (protobuf or
// JSON, optionally gzip-compressed): the spans become events in the log
// (see the otlp package), all or nothing. The body is bounded by
// MaxBodyBytes (compressed and uncompressed) and the spans by MaxBatch.
func (s *Server) traces(w http.ResponseWriter, r *http.Request) {
	fail := func(aerr *apiError) {
		s.m.rejected.WithLabelValues(aerr.Code).Inc()
		writeError(w, aerr)
	}
	ct := r.Header.Get("Content-Type")
	if aerr := needJSON(r, otlp.ContentTypeProtobuf+" or "+otlp.ContentTypeJSON+" (OTLP/HTTP)", otlp.ContentTypeProtobuf, otlp.ContentTypeJSON); aerr != nil {
		fail(aerr)
		return
	}
	body, aerr := s.readBody(w, r)
	if aerr != nil {
		fail(aerr)
		return
	}
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(zr, s.cfg.MaxBodyBytes+1))
		}
		if err != nil {
			fail(errorf(http.StatusBadRequest, CodeBadRequest, "the gzip body does not decompress: %v", err))
			return
		}
		if int64(len(body)) > s.cfg.MaxBodyBytes {
			fail(errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the body decompresses to more than the limit of %d bytes", s.cfg.MaxBodyBytes))
			return
		}
	default:
		fail(errorf(http.StatusUnsupportedMediaType, CodeUnsupportedType, "Content-Encoding %q is not accepted: send gzip or none", enc))
		return
	}
	req, err := otlp.Decode(ct, body)
	if err != nil {
		fail(errorf(http.StatusBadRequest, CodeBadRequest, "%v", err))
		return
	}
	if n := otlp.Count(req); n > s.cfg.MaxBatch {
		fail(errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "%d spans, more than the limit of %d", n, s.cfg.MaxBatch))
		return
	}
	events, err := otlp.Events(req)
	if err != nil {
		fail(errorf(http.StatusBadRequest, CodeBadRequest, "%v", err))
		return
	}
	if len(events) > 0 {
		if _, aerr := s.publish(r.Context(), principalOf(r), events, ""); aerr != nil {
			writeError(w, aerr)
			return
		}
	}
	rct, rb := otlp.Response(ct)
	w.Header().Set("Content-Type", rct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rb)
}
