package wire

import (
	"github.com/sluice-events/sluice/timeline"
)

// Format is an output format of the stream endpoints: its name (the
// ?format= value), the response headers it needs besides SSE's, and a
// constructor for its Encoder (a new one for every stream, since
// encoders keep state from one event to the next).
type Format struct {
	Name   string
	Header map[string]string
	New    func() Encoder
}

// NativeFormat is Sluice's own format.
var NativeFormat = Format{Name: "native", New: func() Encoder { return Native{} }}

// A Resumer is an Encoder whose protocol cannot pick up a stream in the
// middle (a message's deltas make no sense without its start). When a
// stream of one session resumes after a cursor, the server folds the
// session up to the cursor into a timeline and calls Resume once, before
// any event: Resume appends a prelude that makes the rest of the stream
// valid on its own (the run, the messages so far, a start for each
// message still open), and takes its own state from tl: the encoder
// keeps tl and folds later events into it, so the caller hands tl over
// and does not use it afterwards.
type Resumer interface {
	Resume(out []Message, tl *timeline.Timeline) ([]Message, error)
}

// A Finisher is an Encoder whose protocol ends a stream (the AI SDK's
// data: [DONE] after the run's finish). After each event the server asks
// Finished; when it reports true, the messages of that event are the
// last, and the server closes the stream.
type Finisher interface {
	Finished() bool
}
