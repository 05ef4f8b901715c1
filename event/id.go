package event

import (
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// lastStamp holds the last (milliseconds << 12 | counter) handed out by
// NewID, so that IDs made in one process strictly increase.
var lastStamp atomic.Uint64

// NewID returns a new UUIDv7 (RFC 9562). Its first 48 bits are the Unix time
// in milliseconds and the next 12 a counter within the millisecond (method 1
// of RFC 9562 §6.2), so IDs made by one process are strictly increasing; the
// remaining 62 bits are random. It does not fail and costs a fraction of
// uuid.NewV7, which reads the system's random source on every call.
func NewID() uuid.UUID {
	now := uint64(time.Now().UnixMilli()) << 12
	for {
		old := lastStamp.Load()
		next := now
		if next <= old {
			next = old + 1
		}
		if lastStamp.CompareAndSwap(old, next) {
			return makeV7(next, rand.Uint64())
		}
	}
}

func makeV7(stamp, random uint64) uuid.UUID {
	var u uuid.UUID
	ms := stamp >> 12
	binary.BigEndian.PutUint64(u[0:8], ms<<16|0x7000|stamp&0xFFF)
	binary.BigEndian.PutUint64(u[8:16], random&0x3FFF_FFFF_FFFF_FFFF|0x8000_0000_0000_0000)
	return u
}
