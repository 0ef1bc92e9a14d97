package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sockspec/sockspec/adapters/goadapter"
	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/spec/driver"
)

// adapterCommand is the reference speaking the driver protocol: what a
// process target runs, so that the process tier is checked against the
// implementation whose verdicts are known. The protocol side is the
// adapters/goadapter kit, as for any Go implementation.
var adapterCommand = command{
	name:    "adapter",
	summary: "speak the driver protocol on stdin/stdout, serving with the reference",
	usage:   adapterUsage,
	run:     runAdapter,
}

const adapterUsage = `Usage: sockspec adapter [--mutation NAME]

Runs the Go reference as a driver-protocol adapter (spec/driver/PROTOCOL.md):
commands as JSON lines on standard input, hello, replies and events as JSON
lines on standard output, handle_error's reports on standard error. One
process serves one server. sockspec run --target reference-process starts
it; any harness that speaks the protocol can.

Flags:
  --mutation NAME
        break the reference as the named mutant does (spec/mutants)
`

func runAdapter(_ context.Context, e env) int {
	fs := flag.NewFlagSet("adapter", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mutation := fs.String("mutation", "", "")
	if status, done := parseFlags(e, fs, "adapter", adapterUsage, e.Args); done {
		return status
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "sockspec adapter: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	target := referenceHello{&inproc.Target{Mutation: *mutation, Mutations: mutations(), ErrorLog: e.Stderr}}
	return goadapter.Serve(context.Background(), target, os.Stdin, e.Stdout, e.Stderr)
}

// referenceHello is the reference as its hello names it, whatever the
// mutation: "sockspec-reference".
type referenceHello struct{ *inproc.Target }

func (t referenceHello) Info() driver.Info {
	info := t.Target.Info()
	info.Name = "sockspec-reference"
	return info
}
