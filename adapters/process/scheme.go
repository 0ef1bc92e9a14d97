package process

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sockspec/sockspec/spec/driver"
)

// Scheme opens "process:COMMAND ARGS": any adapter program of
// spec/driver/PROTOCOL.md, its command line split at spaces.
func Scheme() driver.Scheme { return scheme{} }

type scheme struct{}

func (scheme) Name() string  { return "process" }
func (scheme) Usage() string { return "process:COMMAND ARGS" }

func (scheme) Open(arg string, _ driver.OpenOptions) (driver.Target, error) {
	argv := strings.Fields(arg)
	if len(argv) == 0 {
		return nil, fmt.Errorf("target %q names no command: write process:COMMAND ARGS", "process:"+arg)
	}
	return &Target{Argv: argv}, nil
}

// ReferenceScheme opens "reference-process" (the reference as an adapter
// process: the sockspec executable's adapter command, see
// driver.OpenOptions.Sockspec) and "reference-process:MUTANT" (one of
// mutants, so named, through the same command).
func ReferenceScheme(mutants []string) driver.Scheme { return referenceScheme{mutants} }

type referenceScheme struct{ mutants []string }

func (referenceScheme) Name() string  { return "reference-process" }
func (referenceScheme) Usage() string { return "reference-process[:MUTANT]" }

func (s referenceScheme) Open(arg string, o driver.OpenOptions) (driver.Target, error) {
	name := "reference-process"
	if arg != "" {
		name += ":" + arg
	}
	if o.Sockspec == "" {
		return nil, fmt.Errorf("target %s runs the sockspec executable's adapter command, and this program is not sockspec: write process:'PATH/TO/sockspec adapter'", name)
	}
	argv := []string{o.Sockspec, "adapter"}
	label := "reference-process"
	if arg != "" {
		if !slices.Contains(s.mutants, arg) {
			return nil, fmt.Errorf("unknown mutant %q in target %s", arg, name)
		}
		argv = append(argv, "--mutation", arg)
		label = "mutant-process:" + arg
	}
	return &Target{Argv: argv, Label: label}, nil
}
