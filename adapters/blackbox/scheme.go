package blackbox

import (
	"fmt"
	"strings"

	"github.com/sockspec/sockspec/spec/driver"
)

// Scheme opens "exec:COMMAND": a server program with no adapter, run by
// /bin/sh -c and judged as a black box; the options' Family, Dispatch
// and Vouch declare what it serves.
func Scheme() driver.Scheme { return scheme{} }

type scheme struct{}

func (scheme) Name() string  { return "exec" }
func (scheme) Usage() string { return "exec:COMMAND" }

func (scheme) Open(arg string, o driver.OpenOptions) (driver.Target, error) {
	command := strings.TrimSpace(arg)
	if command == "" {
		return nil, fmt.Errorf("target %q names no command: write exec:'COMMAND ARGS'", "exec:"+arg)
	}
	return New(Options{Command: command, Family: o.Family, Dispatch: o.Dispatch, Capabilities: o.Vouch})
}
