package extract

import (
	"unsafe"

	"github.com/sluice-events/sluice/event"
)

// Boxing a TextDelta into an event.Payload allocates a copy of it, once per
// delta rewritten: at 20-byte deltas that allocation and the garbage
// collection it causes cost as much as all the rest of the sink's work per
// delta (BenchmarkExtract/PassThrough: about 260 more instructions and one
// allocation per delta). No safe construct makes an interface point at a
// value that is already in memory, so a slab boxes many deltas with one
// allocation: the interface value is built from the payload type's itab
// and a pointer into the slab.
//
// Why this is sound with the gc toolchain:
//   - A non-empty interface is two words, the itab and a pointer to the
//     value (runtime.iface); a value that is not pointer-shaped, like
//     TextDelta, is always held indirectly. The itab is taken from a real
//     conversion, and boxOK checks the layout once at start-up: if a
//     forged value does not read back as the payload it was made from,
//     deltas are boxed the ordinary way.
//   - The garbage collector follows interior pointers, so a payload keeps
//     its slab (and the slab's strings) alive like any pointer would. A
//     consumer that keeps one payload keeps at most slabSize deltas' text.
//   - Interface payloads are immutable: each slot is written once, before
//     it is handed out, and never again; a used-up slab is dropped, not
//     reused.

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
	boxOK            = checkBox()
)

func forge(tab, data unsafe.Pointer) event.Payload {
	var p event.Payload
	(*iface)(unsafe.Pointer(&p)).tab = tab
	(*iface)(unsafe.Pointer(&p)).data = data
	return p
}

// checkBox reports whether forged payloads read back as what they were
// made from.
func checkBox() bool {
	td := &event.TextDelta{Index: 1, Offset: 2, Text: "t"}
	kd := &event.ThinkingDelta{Index: 3, Offset: 4, Text: "k"}
	t, ok1 := forge(textDeltaTab, unsafe.Pointer(td)).(event.TextDelta)
	k, ok2 := forge(thinkingDeltaTab, unsafe.Pointer(kd)).(event.ThinkingDelta)
	return ok1 && ok2 && t == *td && k == *kd &&
		event.Payload(event.TextDelta{}).EventType() == forge(textDeltaTab, unsafe.Pointer(td)).EventType()
}

// boxer boxes deltas for one stream; it is used under the stream's lock.
type boxer struct {
	text     *[slabSize]event.TextDelta
	thinking *[slabSize]event.ThinkingDelta
	nt, nk   int // slots used
}

func (b *boxer) textDelta(d event.TextDelta) event.Payload {
	if !boxOK {
		return d
	}
	if b.text == nil || b.nt == slabSize {
		b.text, b.nt = new([slabSize]event.TextDelta), 0
	}
	slot := &b.text[b.nt]
	b.nt++
	*slot = d
	return forge(textDeltaTab, unsafe.Pointer(slot))
}

func (b *boxer) thinkingDelta(d event.ThinkingDelta) event.Payload {
	if !boxOK {
		return d
	}
	if b.thinking == nil || b.nk == slabSize {
		b.thinking, b.nk = new([slabSize]event.ThinkingDelta), 0
	}
	slot := &b.thinking[b.nk]
	b.nk++
	*slot = d
	return forge(thinkingDeltaTab, unsafe.Pointer(slot))
}
