package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sockspec/sockspec/spec"
)

// reproduceCommand runs one edge case and shows what happened in it.
var reproduceCommand = command{
	name:    "reproduce",
	summary: "reproduce one edge case (EINTR, EMFILE, fork EAGAIN, zombies, hostile clients…) against a target, with its timeline",
	usage:   reproduceUsage,
	run:     runReproduce,
}

const reproduceUsage = `Usage: sockspec reproduce CASE [flags]
       sockspec reproduce --list

Runs the specs of one edge case against a target and prints, for each,
its outcome, the faults it injected, a timeline of what happened (faults
set, fired and lifted; the server's hook calls; what each client sent and
got; what /proc showed of the server process) and the command that runs
it again with the same seed.

Flags:
  --list          name every case, with what it reproduces
  --target T      as for sockspec run (default: reference)
  --family F, --dispatch D, --vouch CAPS
                  what an exec: target serves, as for sockspec run
  --seed N        the random seed (default: a new one, printed in the
                  rerun command)
` + networkFlagUsage + `  --report-dir D  also write junit.xml, report.json (timelines kept) and
                  report.html
  --expectations auto|none|FILE
                  judge against the target's known deviations, as for
                  sockspec run (auto: the file shipped for a cpython: target)
  -v              print every spec as it runs
` + repeatUsage + `
Exit status: as sockspec run: 0 when the case's rules hold (or, with
expectations, behave as the expectations say), 1 when not, 2 for a
harness error or bad flags; with --repeat, the worst of the runs', and 1
at least when an outcome changed from run to run.
`

func runReproduce(ctx context.Context, e env) int {
	fs := flag.NewFlagSet("reproduce", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o spec.Config
	list := fs.Bool("list", false, "")
	targetName := fs.String("target", "reference", "")
	network := networkFlag(fs)
	exec := execFlags(fs)
	fs.Int64Var(&o.Seed, "seed", 0, "")
	fs.StringVar(&o.ReportDir, "report-dir", "", "")
	fs.BoolVar(&o.Verbose, "v", false, "")
	expect := fs.String("expectations", "auto", "")
	repeat := fs.Int("repeat", 1, "")
	// The case may come before or after the flags.
	args := e.Args
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if status, done := parseFlags(e, fs, "reproduce", reproduceUsage, args); done {
		return status
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if *list {
		writeCases(e.Stdout)
		return 0
	}
	if name == "" {
		fmt.Fprintf(e.Stderr, "sockspec reproduce: name a case; 'sockspec reproduce --list' names them\n")
		return 2
	}
	c, err := spec.LookupCase(name)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec reproduce: %v\n", err)
		return 2
	}
	if *repeat < 1 {
		fmt.Fprintf(e.Stderr, "sockspec reproduce: --repeat %d: give the number of runs, 1 or more\n", *repeat)
		return 2
	}
	target, targetArgs, code := prepareTarget(ctx, e, "reproduce", *targetName, fs, exec(), false)
	if code != 0 {
		return code
	}
	defer closeTarget(e, "reproduce", target)
	netArgs, err := network(&o)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec reproduce: --network: %v\n", err)
		return 2
	}
	o.Target, o.TargetArgs = target, targetArgs+netArgs
	if o.Expectations, err = loadExpectations(*expect, target); err != nil {
		fmt.Fprintf(e.Stderr, "sockspec reproduce: --expectations: %v\n", err)
		return 2
	}
	if ctx.Err() != nil {
		// Interrupted while the target was probed, before the suite (and
		// its own interrupt handling) began.
		fmt.Fprintf(e.Stderr, "sockspec reproduce: interrupted before the first spec\n")
		return 2
	}
	if *repeat > 1 {
		// Each run reads the expectations again; they were checked here.
		return repeated(ctx, e, "reproduce", e.Args, *repeat, o.ReportDir, o.Seed)
	}
	o.LabelFilter = c.LabelFilter()
	o.KeepTimelines = true
	defer killOnInterrupt()()
	o.Summary = io.Discard
	v, err := spec.Run(o)
	if err != nil {
		return refuseFilters(e, "reproduce", err)
	}
	writeReproduction(e.Stdout, c, targetArgs, v)
	return exitStatus(v)
}

// writeCases prints the catalogue.
func writeCases(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tRULES\tREPRODUCES")
	for _, c := range spec.Cases() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, strings.Join(c.Rules, " "), c.Says)
	}
	tw.Flush()
}

// writeReproduction prints each spec of the case with its timeline.
func writeReproduction(w io.Writer, c spec.Case, targetArgs string, v *spec.Verdict) {
	fmt.Fprintf(w, "\ncase %s: %s\ntarget %s %s, seed %d\n", c.Name, c.Says, v.Target, v.Version, v.Seed)
	for _, r := range v.Rules {
		for _, s := range r.Specs {
			fmt.Fprintf(w, "\n%s  %s\n", s.Outcome, s.Name)
			if s.Outcome != spec.OutcomePass && s.Message != "" {
				fmt.Fprintf(w, "  why: %s\n", indent(strings.TrimSpace(s.Message), "       "))
			}
			for _, f := range s.Faults {
				fmt.Fprintf(w, "  fault: %s\n", f)
			}
			if s.Hygiene != "" {
				fmt.Fprintf(w, "  left behind: %s\n", s.Hygiene)
			}
			if len(s.Timeline) > 0 {
				fmt.Fprintf(w, "  timeline:\n%s", indent(spec.FormatTimeline(s.Timeline), "    "))
			}
		}
	}
	fmt.Fprintf(w, "\n")
	spec.WriteSummary(w, v)
	fmt.Fprintf(w, "rerun: sockspec reproduce %s %s --seed %d\n", c.Name, targetArgs, v.Seed)
}

// indent prefixes every line of s but the first with pad (every line, when
// s ends in a newline and is a block).
func indent(s, pad string) string {
	if strings.HasSuffix(s, "\n") {
		return pad + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pad) + "\n"
	}
	return strings.ReplaceAll(s, "\n", "\n"+pad)
}
