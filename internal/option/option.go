// Package option applies functional options, the configuration style of
// every Sluice package: an exported Option type, func(*config) error, over
// an unexported configuration, so that each option checks its own value and
// a constructor reports an invalid one as an error.
package option

import "fmt"

// Apply calls each of opts on c, in order, and returns the first error. A
// nil option gives an error wrapping invalid, the package's sentinel for
// invalid arguments.
func Apply[C any, O ~func(*C) error](c *C, opts []O, invalid error) error {
	for _, o := range opts {
		if o == nil {
			return fmt.Errorf("%w: nil option", invalid)
		}
		if err := o(c); err != nil {
			return err
		}
	}
	return nil
}
