package option_test

import (
	"errors"
	"testing"

	"github.com/sluice-events/sluice/internal/option"
)

type config struct{ got []int }

type opt func(*config) error

func add(n int) opt { return func(c *config) error { c.got = append(c.got, n); return nil } }

var (
	errInvalid = errors.New("invalid")
	errBad     = errors.New("bad")
)

func TestApply(t *testing.T) {
	var c config
	if err := option.Apply(&c, []opt{add(1), add(2)}, errInvalid); err != nil || len(c.got) != 2 || c.got[1] != 2 {
		t.Fatalf("Apply = %v, got %v; want nil, [1 2]", err, c.got)
	}
	c = config{}
	bad := func(*config) error { return errBad }
	if err := option.Apply(&c, []opt{add(1), bad, add(3)}, errInvalid); !errors.Is(err, errBad) || len(c.got) != 1 {
		t.Fatalf("Apply with a failing option = %v, got %v; want errBad after [1]", err, c.got)
	}
	if err := option.Apply(&c, []opt{nil}, errInvalid); !errors.Is(err, errInvalid) {
		t.Fatalf("Apply with a nil option = %v, want errInvalid", err)
	}
}
