package memory_test

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c store.Config) store.Store {
		s, err := memory.New(memory.WithRetention(c.Retention), memory.WithClock(c.Clock), memory.WithLogger(c.Logger))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.WithRewrite(func(t *testing.T, st store.Store, sess string, seq uint64, data []byte) {
		if !memory.Rewrite(st.(*memory.Store), sess, seq, data) {
			t.Fatalf("rewrite: no event %s/%d", sess, seq)
		}
	}))
}

func TestOptions(t *testing.T) {
	for name, opt := range map[string]memory.Option{
		"nil option":         nil,
		"nil clock":          memory.WithClock(nil),
		"nil logger":         memory.WithLogger(nil),
		"negative max age":   memory.WithRetention(store.Retention{MaxAge: -time.Second}),
		"negative max count": memory.WithRetention(store.Retention{MaxEvents: -1}),
		"negative interval":  memory.WithRetention(store.Retention{MaxEvents: 1, Interval: -1}),
	} {
		if s, err := memory.New(opt); !errors.Is(err, store.ErrInvalid) || s != nil {
			t.Errorf("New with %s: %v, %v; want nil, ErrInvalid", name, s, err)
		}
	}
}
