package main

import (
	"os"

	"github.com/sockspec/sockspec/adapters/blackbox"
	"github.com/sockspec/sockspec/adapters/cpython"
	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/containers"
	"github.com/sockspec/sockspec/spec/driver"
	"github.com/sockspec/sockspec/spec/mutants"
)

// This file is the one place that lists the kinds of target --target
// names: each adapter package offers its scheme, and the suite (package
// spec) knows none of them. A new kind of target (container:, pypy:) is a
// package of its own and a line in targets.

// targets resolves --target names; its first scheme opens the default.
func targets() *driver.Registry {
	known := mutations()
	return driver.NewRegistry(
		inproc.ReferenceScheme(),               // reference
		process.ReferenceScheme(known.Names()), // reference-process[:MUTANT]
		inproc.MutantScheme(known),             // mutant:NAME
		cpython.Scheme(),                       // cpython:VERSION, cpython:PATH
		process.Scheme(),                       // process:COMMAND ARGS
		blackbox.Scheme(),                      // exec:COMMAND
		containers.Scheme(),                    // container:reference, container:cpython:X.Y, container:image=NAME
	)
}

// mutations are the reference's mutants by name: mutant:NAME and
// reference-process:NAME open them, and a request child of a mutant's
// forking server rebuilds its mutation from them (main gives them to
// inproc.ChildMain, the adapter command to its target).
func mutations() inproc.Mutations { return mutants.Set() }

// openTarget opens the target name, with the declarations o of an exec:
// target; reference-process runs this very executable's adapter command.
func openTarget(name string, o driver.OpenOptions) (driver.Target, error) {
	if exe, err := os.Executable(); err == nil {
		o.Sockspec = exe
	}
	return targets().Open(name, o)
}
