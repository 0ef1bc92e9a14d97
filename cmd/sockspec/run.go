package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sockspec/sockspec/spec"
	_ "github.com/sockspec/sockspec/spec/mutants" // mutant:NAME targets
)

// runCommand runs the specification suite against a target.
var runCommand = command{
	name:    "run",
	summary: "run the specification suite against a target and print the verdict per rule",
	usage:   runUsage,
	run:     runRun,
}

const runUsage = `Usage: sockspec run [flags]

Runs the specification suite of the BaseServer contract against a target
and prints a summary: every rule that did not pass, then the count of
each outcome. PASS: the rule holds. FAIL: a MUST rule is broken.
NON-STRICT: a SHOULD rule is broken. N/A: the target lacks a capability
the rule needs. HANG: the target stopped answering within a bound (a
deadlocked shutdown is a verdict). ERROR: the harness or the adapter broke.

Flags:
  --target T
        reference (the Go reference, in this process; the default), or
        mutant:NAME (the reference broken on purpose; see spec/mutants)
  --label-filter EXPR
        run only the specs whose labels match EXPR, Ginkgo's label syntax:
        rule:ORD-03, or 'rule:ORD-03 || rule:SHD-02'
  --focus REGEXP
        run only the specs whose text matches
  --seed N
        the order's random seed (default: a new one, printed)
  --report-dir DIR
        write junit.xml and report.json (rule, outcome, duration, failure
        with the trace) into DIR
  -v    print every spec as it runs

Exit status: 0 conformant (no FAIL, HANG or ERROR), 1 not conformant,
2 harness error or bad flags.
`

func runRun(_ context.Context, e env) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o spec.Options
	targetName := fs.String("target", "reference", "")
	fs.StringVar(&o.LabelFilter, "label-filter", "", "")
	fs.StringVar(&o.FocusRegexp, "focus", "", "")
	fs.Int64Var(&o.Seed, "seed", 0, "")
	fs.StringVar(&o.ReportDir, "report-dir", "", "")
	fs.BoolVar(&o.Verbose, "v", false, "")
	if err := fs.Parse(e.Args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.Stdout, runUsage)
			return 0
		}
		fmt.Fprintf(e.Stderr, "sockspec run: %v\nRun 'sockspec help run' for the flags.\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "sockspec run: unexpected argument %q: every option is a flag; run 'sockspec help run'\n", fs.Arg(0))
		return 2
	}
	target, err := spec.ResolveTarget(*targetName)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: --target: %v\n", err)
		return 2
	}
	o.Target = target
	spec.SetSummaryWriter(e.Stdout)
	v, err := spec.Run(o)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: %v\n", err)
		return 2
	}
	switch {
	case len(v.HarnessFailures) > 0 || v.Counts[spec.OutcomeError] > 0:
		return 2
	case !v.Conformant:
		return 1
	}
	return 0
}
