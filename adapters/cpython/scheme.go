package cpython

import "github.com/sockspec/sockspec/spec/driver"

// Scheme opens "cpython:VERSION" (cpython:3.11, found as NewTarget finds
// it) and "cpython:PATH" (any interpreter, a wrapper script included).
func Scheme() driver.Scheme { return scheme{} }

type scheme struct{}

func (scheme) Name() string  { return "cpython" }
func (scheme) Usage() string { return "cpython:VERSION (cpython:3.11), cpython:PATH" }

func (scheme) Open(arg string, _ driver.OpenOptions) (driver.Target, error) {
	t, err := NewTarget(arg)
	if err != nil {
		return nil, err // not a nil *process.Target in a non-nil interface
	}
	return t, nil
}
