package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/sockspec/sockspec/netsim"
)

// networkCommand lists the simulated networks a --network flag accepts.
var networkCommand = command{
	name:    "network",
	summary: "list the built-in network profiles (--list) that proxy's --network accepts",
	usage:   networkUsage,
	run:     runNetwork,
}

const networkUsage = `Usage: sockspec network --list

Prints the built-in network profiles with the faults each applies, each way
unless a fault says "direction=up" or "direction=down". --network accepts
their names, or the path of a JSON profile file (README.md, "Simulated
networks", shows one with every field).
`

func runNetwork(_ context.Context, e env) int {
	fs := flag.NewFlagSet("network", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	list := fs.Bool("list", false, "")
	if status, done := parseFlags(e, fs, "network", networkUsage, e.Args); done {
		return status
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(e.Stderr, "sockspec network: unexpected argument %q: write sockspec network --list\n", fs.Arg(0))
		return 2
	case !*list:
		fmt.Fprintf(e.Stderr, "sockspec network: nothing to do: write sockspec network --list\n")
		return 2
	}
	// A profile's name and what it stands for, then its faults one a line.
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	for _, p := range netsim.Builtins() {
		fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Doc)
		for _, f := range p.Faults {
			fmt.Fprintf(tw, "\t  %s\n", f)
		}
	}
	tw.Flush()
	return 0
}

// loadNetwork turns a --network value into a profile: a built-in's name,
// or the path of a JSON profile file (anything with a slash or ending in
// .json, or an existing file).
func loadNetwork(arg string) (netsim.Profile, error) {
	if strings.ContainsRune(arg, os.PathSeparator) || strings.HasSuffix(arg, ".json") {
		return netsim.LoadProfile(arg)
	}
	if p, err := netsim.LookupProfile(arg); err == nil {
		return p, nil
	}
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return netsim.LoadProfile(arg)
	}
	return netsim.Profile{}, fmt.Errorf("unknown network profile %q (write one of %s, or the path of a JSON profile file)",
		arg, strings.Join(netsim.BuiltinNames(), ", "))
}
