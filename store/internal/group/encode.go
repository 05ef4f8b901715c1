package group

import (
	"fmt"
	"sync"

	"github.com/sluice-events/sluice/store"
)

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooled is the largest buffer put back in the pool.
const maxPooled = 1 << 20

// Encode validates the events of r (with store.CheckBatch) and fills
// r.Data with their JSON encodings, without the sequence number (which the
// writer assigns and stores in its own column). All encodings share one
// pooled buffer; call Release after the request is done.
func (r *Request) Encode() error {
	if err := store.CheckBatch(r.Events); err != nil {
		return err
	}
	bp := bufs.Get().(*[]byte)
	b := (*bp)[:0]
	ends := make([]int, len(r.Events))
	for i := range r.Events {
		ev := r.Events[i] // a copy: encode without Seq
		ev.Seq = 0
		var err error
		if b, err = ev.AppendJSON(b); err != nil {
			*bp = b[:0]
			bufs.Put(bp)
			return fmt.Errorf("%w: event %d (id %s, type %q): %w", store.ErrInvalid, i, ev.ID, ev.Type, err)
		}
		ends[i] = len(b)
	}
	r.Data = make([][]byte, len(r.Events))
	start := 0
	for i, end := range ends {
		r.Data[i] = b[start:end:end]
		start = end
	}
	*bp = b
	r.buf = bp
	r.Seqs = make([]uint64, len(r.Events))
	return nil
}

// Release returns the encoding buffer to the pool.
func (r *Request) Release() {
	if r.buf != nil && cap(*r.buf) <= maxPooled {
		*r.buf = (*r.buf)[:0]
		bufs.Put(r.buf)
	}
	r.buf, r.Data = nil, nil
}
