package main

import (
	"context"
	"fmt"

	"github.com/sockspec/sockspec/internal/buildinfo"
)

// versionCommand prints which sockspec this is; reports carry the same.
var versionCommand = command{
	name:    "version",
	summary: "print sockspec's version, VCS revision and Go version (also: sockspec --version)",
	usage:   versionUsage,
	run:     runVersion,
}

const versionUsage = `Usage: sockspec version
       sockspec --version

Prints the build in one line: the module version (a tag for an installed
release, "(devel)" for a build in a working tree), the VCS revision and
whether the tree had changes, when the build recorded them, and the Go
version. report.json ("sockspec") and junit.xml (the suite's properties)
name the same build.
`

func runVersion(_ context.Context, e env) int {
	if len(e.Args) > 0 {
		if e.Args[0] == "-h" || e.Args[0] == "--help" || e.Args[0] == "-help" {
			fmt.Fprint(e.Stdout, versionUsage)
			return 0
		}
		fmt.Fprintf(e.Stderr, "sockspec version: unexpected argument %q: it takes none\n", e.Args[0])
		return 2
	}
	fmt.Fprintln(e.Stdout, buildinfo.Read())
	return 0
}
