package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sockspec/sockspec/spec"
)

const reportCompareUsage = `Usage: sockspec report compare DIR_A DIR_B

Compares the rule outcomes of two saved runs (the report.json of each
--report-dir): the same implementation judged in two tiers (a process and
a container, directly and through a simulated network), or two versions.
Prints every rule whose outcome differs, or is judged in one run only.

Exit status: 0 when every rule has the same outcome in both, 1 when some
differ, 2 for a directory without a report.
`

// runReportCompare is 'sockspec report compare'.
func runReportCompare(_ context.Context, e env) int {
	fs := flag.NewFlagSet("report compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if status, done := parseFlags(e, fs, "report compare", reportCompareUsage, e.Args); done {
		return status
	}
	if fs.NArg() != 2 {
		fmt.Fprintf(e.Stderr, "sockspec report compare: name two report directories (got %d)\n", fs.NArg())
		return 2
	}
	var vs [2]*spec.Verdict
	for i, dir := range fs.Args() {
		v, path, err := readVerdict(dir)
		if err != nil {
			fmt.Fprintf(e.Stderr, "sockspec report compare: %s: %v\n", path, err)
			return 2
		}
		vs[i] = v
	}
	diffs := compareOutcomes(vs[0], vs[1])
	a, b := runName(vs[0]), runName(vs[1])
	if len(diffs) == 0 {
		fmt.Fprintf(e.Stdout, "sockspec report compare: %s and %s: the %d rules have the same outcomes\n", a, b, len(vs[0].Rules))
		return 0
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "RULE\t%s\t%s\n", strings.ToUpper(a), strings.ToUpper(b))
	for _, d := range diffs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.rule, d.a, d.b)
	}
	tw.Flush()
	fmt.Fprintf(e.Stdout, "sockspec report compare: %d rules differ\n", len(diffs))
	return 1
}

// outcomeDiff is one rule whose outcome differs between two runs; "not
// run" stands for a rule a run did not judge.
type outcomeDiff struct{ rule, a, b string }

// compareOutcomes lists the rules whose outcome differs, by rule ID.
func compareOutcomes(a, b *spec.Verdict) []outcomeDiff {
	outcomes := func(v *spec.Verdict) map[string]string {
		m := map[string]string{}
		for _, r := range v.Rules {
			m[r.Rule] = string(r.Outcome)
		}
		return m
	}
	oa, ob := outcomes(a), outcomes(b)
	var diffs []outcomeDiff
	for id := range union(oa, ob) {
		x, y := orNotRun(oa[id]), orNotRun(ob[id])
		if x != y {
			diffs = append(diffs, outcomeDiff{id, x, y})
		}
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].rule < diffs[j].rule })
	return diffs
}

func union(a, b map[string]string) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func orNotRun(o string) string {
	if o == "" {
		return "not run"
	}
	return o
}

// runName names a run in the comparison's columns: its target, and the
// network it was judged through.
func runName(v *spec.Verdict) string {
	if v.Network != "" {
		return v.Target + " via " + v.Network
	}
	return v.Target
}
