package extract

import (
	"unsafe"

	"github.com/sluice-events/sluice/event"
)

// Boxing a TextDelta into an event.Payload allocates a copy of it, once per
// delta passed on: at 20-byte deltas that allocation and the garbage
// collection it causes were a third of the sink's time. A slab boxes many
// deltas with one allocation: the interface points into the slab, each
// slot is written once before it is handed out and never again, so every
// payload stays immutable as interface payloads are, and a consumer that
// keeps one keeps the slab alive like any other pointer would.

const slabSize = 128

// iface is the layout of a non-empty interface value.
type iface struct {
	tab  unsafe.Pointer
	data unsafe.Pointer
}

func itabOf(p event.Payload) unsafe.Pointer { return (*iface)(unsafe.Pointer(&p)).tab }

var (
	textDeltaTab     = itabOf(event.TextDelta{})
	thinkingDeltaTab = itabOf(event.ThinkingDelta{})
)

// boxer boxes deltas for one stream; it is used under the stream's lock.
type boxer struct {
	text     []event.TextDelta
	thinking []event.ThinkingDelta
}

func (b *boxer) textDelta(d event.TextDelta) event.Payload {
	if len(b.text) == 0 {
		b.text = make([]event.TextDelta, slabSize)
	}
	b.text[0] = d
	var p event.Payload
	(*iface)(unsafe.Pointer(&p)).tab = textDeltaTab
	(*iface)(unsafe.Pointer(&p)).data = unsafe.Pointer(&b.text[0])
	b.text = b.text[1:]
	return p
}

func (b *boxer) thinkingDelta(d event.ThinkingDelta) event.Payload {
	if len(b.thinking) == 0 {
		b.thinking = make([]event.ThinkingDelta, slabSize)
	}
	b.thinking[0] = d
	var p event.Payload
	(*iface)(unsafe.Pointer(&p)).tab = thinkingDeltaTab
	(*iface)(unsafe.Pointer(&p)).data = unsafe.Pointer(&b.thinking[0])
	b.thinking = b.thinking[1:]
	return p
}
