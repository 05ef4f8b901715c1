package scripted

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Option configures a Server.
type Option func(*Server)

// Speed sets the pace of the replay: 1 (the default) keeps each event's
// pause, 2 halves the pauses, 0.5 doubles them, and 0 sends every event at
// once, without pauses. Stalls stay stalls at any speed.
func Speed(x float64) Option {
	return func(s *Server) {
		if x < 0 {
			x = 0
		}
		s.speed = x
	}
}

// Loop makes the server start again from the first transcript after the
// last, so that a demo can run any number of times.
func Loop() Option { return func(s *Server) { s.loop = true } }

// Server is a local HTTP server that answers each request with the next
// transcript, paced as the provider streamed it. Point an official SDK
// client at it with its base-URL option
// (option.WithBaseURL(srv.URL)); any path is answered, so the SDKs'
// /v1/messages, /chat/completions and /responses all work.
//
// When the transcripts are used up (and Loop is not set), a request gets a
// 404 with a JSON error body, which the SDKs do not retry.
type Server struct {
	// URL is the server's base URL, such as http://127.0.0.1:34567.
	URL string

	ts    *httptest.Server
	trans []Transcript
	speed float64
	loop  bool
	done  chan struct{}

	mu       sync.Mutex
	next     int
	requests []Request
	stalled  chan struct{}
}

// Request is a request the server received, for tests to check what the
// client sent (such as the tool results of the second turn).
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// Transcript is the name of the transcript that answered it; empty if
	// none was left.
	Transcript string
}

// NewServer starts a server that replays transcripts in order, one per
// request. Close it when done.
func NewServer(transcripts []Transcript, opts ...Option) *Server {
	s := &Server{trans: transcripts, speed: 1, done: make(chan struct{}), stalled: make(chan struct{}, 16)}
	for _, o := range opts {
		o(s)
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	return s
}

// Close stops the server: streams in progress, stalled ones too, end at
// once. It waits for the handlers to return.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Stalled returns a channel that receives a value each time a stream
// reaches a stall (the sluice-stall directive), after every event before
// it was sent and flushed.
func (s *Server) Stalled() <-chan struct{} { return s.stalled }

func (s *Server) take() (Transcript, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= len(s.trans) {
		if !s.loop || len(s.trans) == 0 {
			return Transcript{}, false
		}
		s.next = 0
	}
	t := s.trans[s.next]
	s.next++
	return t, true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	t, ok := s.take()
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Transcript: t.Name})
	n := len(s.requests)
	s.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"type":"error","error":{"type":"not_found_error","message":"scripted: no transcript left for request %d"}}`, n)
		return
	}

	w.Header().Set("Content-Type", t.contentType())
	if t.contentType() == "text/event-stream" {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(t.status())
	rc := http.NewResponseController(w)
	_ = rc.Flush()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for _, ev := range t.Events {
		if ev.Stall {
			select {
			case s.stalled <- struct{}{}:
			default:
			}
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
			return
		}
		if d := s.pause(ev.Delay); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				return
			case <-s.done:
				return
			}
		}
		if _, err := w.Write(ev.Data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func (s *Server) pause(d time.Duration) time.Duration {
	if s.speed == 0 || d <= 0 {
		return 0
	}
	return time.Duration(float64(d) / s.speed)
}
