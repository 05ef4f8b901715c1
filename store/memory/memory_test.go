package memory_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store {
		return memory.New(opts...)
	}, storetest.Rewrite(func(t *testing.T, st store.Store, sess string, seq uint64, data []byte) {
		if !memory.Rewrite(st.(*memory.Store), sess, seq, data) {
			t.Fatalf("rewrite: no event %s/%d", sess, seq)
		}
	}))
}
