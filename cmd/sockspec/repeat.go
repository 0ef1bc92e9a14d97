package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sockspec/sockspec/spec"
)

// repeatBound bounds one of the repeated runs. A whole suite against a
// CPython interpreter takes about two and a half minutes.
const repeatBound = 15 * time.Minute

// repeatUsage documents --repeat for reproduce.
const repeatUsage = `  --repeat N      run N times, each in a process of its own, and name the
                  rules whose outcome changed from run to run: an edge
                  case that hangs on timing shows how often it happens.
                  Each run's output and reports go to DIR/run-K, DIR
                  being --report-dir (default: a new temporary directory)
`

// repeated runs the subcommand (run or reproduce) n times with args, each
// time in a process of its own since Ginkgo runs a suite once per process,
// prints a line per run and then the rules whose outcome was not the same
// in every run. Its status is the worst of the runs', and 1 at least when
// an outcome changed: a verdict that depends on the moment is no verdict.
//
// Each run gets a seed of its own, so that the order of the specs changes
// too, unless seed (the one --seed gave, 0 for none) names one.
func repeated(ctx context.Context, e env, command string, args []string, n int, dir string, seed int64) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec %s: --repeat: %v\n", command, err)
		return 2
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sockspec-repeat-"); err != nil {
			fmt.Fprintf(e.Stderr, "sockspec %s: --repeat: %v\n", command, err)
			return 2
		}
	}
	args = withoutFlags(args, "repeat", "report-dir", "seed")
	seedGiven := seed != 0
	if !seedGiven {
		seed = time.Now().Unix()
	}
	status := 0
	var runs []childRun
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		runDir := filepath.Join(dir, fmt.Sprintf("run-%d", i))
		runSeed := seed
		if !seedGiven {
			runSeed += int64(i - 1)
		}
		childArgs := append(append([]string{command}, args...), "--report-dir", runDir, "--seed", fmt.Sprint(runSeed))
		r := runChild(ctx, exe, childArgs, runDir, repeatBound)
		fmt.Fprintf(e.Stdout, "sockspec %s: run %d/%d: %s\n", command, i, n, describeRun(r))
		runs = append(runs, r)
		status = max(status, r.Status)
		if r.Verdict == nil {
			status = 2
		}
	}
	if len(runs) < n {
		fmt.Fprintf(e.Stdout, "sockspec %s: interrupted after %d of %d runs\n", command, len(runs), n)
		status = 2
	}
	changed, judged := changedRules(runs)
	switch {
	case judged == 0:
		fmt.Fprintf(e.Stdout, "sockspec %s: no run left a report\n", command)
	case len(changed) == 0:
		fmt.Fprintf(e.Stdout, "sockspec %s: every rule had the same outcome in the %d runs that reported\n", command, judged)
	default:
		fmt.Fprintf(e.Stdout, "sockspec %s: %d rules changed outcome from run to run:\n", command, len(changed))
		writeChanged(e.Stdout, changed)
		status = max(status, 1)
	}
	fmt.Fprintf(e.Stdout, "sockspec %s: each run's output (%s) and reports are in %s\n", command, childOutput, filepath.Join(dir, "run-K"))
	return status
}

// describeRun is one run in a line: its status, time, seed and tally.
func describeRun(r childRun) string {
	took := r.Duration.Round(100 * time.Millisecond)
	if r.Verdict == nil {
		return fmt.Sprintf("exit %d after %v: %s", r.Status, took, r.Error)
	}
	return fmt.Sprintf("exit %d in %v, seed %d: %s", r.Status, took, r.Verdict.Seed, r.Verdict.Tally())
}

// changedRule is a rule whose outcome was not the same in every run.
type changedRule struct {
	Rule string
	// Runs lists, for each outcome seen, the runs (from 1) that gave it.
	Runs map[spec.Outcome][]int
}

// changedRules compares the runs that left a report, rule by rule. A rule
// missing from some of them (a filter or an aborted run) counts as not
// run there. It also returns how many runs it compared.
func changedRules(runs []childRun) ([]changedRule, int) {
	const notRun spec.Outcome = "not run"
	var judged []int // the runs, from 1, that left a report
	outcomeIn := map[int]map[string]spec.Outcome{}
	rulesSeen := map[string]bool{}
	for i, r := range runs {
		if r.Verdict == nil {
			continue
		}
		judged = append(judged, i+1)
		outcomeIn[i+1] = map[string]spec.Outcome{}
		for _, rr := range r.Verdict.Rules {
			outcomeIn[i+1][rr.Rule] = rr.Outcome
			rulesSeen[rr.Rule] = true
		}
	}
	var changed []changedRule
	for rule := range rulesSeen {
		byOutcome := map[spec.Outcome][]int{}
		for _, n := range judged {
			o, ok := outcomeIn[n][rule]
			if !ok {
				o = notRun
			}
			byOutcome[o] = append(byOutcome[o], n)
		}
		if len(byOutcome) > 1 {
			changed = append(changed, changedRule{Rule: rule, Runs: byOutcome})
		}
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].Rule < changed[j].Rule })
	return changed, len(judged)
}

// writeChanged prints a row a changed rule: each outcome with its runs,
// the most frequent first.
func writeChanged(w io.Writer, changed []changedRule) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tOUTCOMES")
	for _, c := range changed {
		outcomes := make([]spec.Outcome, 0, len(c.Runs))
		for o := range c.Runs {
			outcomes = append(outcomes, o)
		}
		sort.Slice(outcomes, func(i, j int) bool {
			a, b := c.Runs[outcomes[i]], c.Runs[outcomes[j]]
			if len(a) != len(b) {
				return len(a) > len(b)
			}
			return outcomes[i] < outcomes[j]
		})
		var parts []string
		for _, o := range outcomes {
			parts = append(parts, fmt.Sprintf("%s in %s", o, runList(c.Runs[o])))
		}
		fmt.Fprintf(tw, "%s\t%s\n", c.Rule, strings.Join(parts, " · "))
	}
	tw.Flush()
}

// runList names runs: "run 3", "runs 1, 2, 4".
func runList(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	if len(ns) == 1 {
		return "run " + s[0]
	}
	return "runs " + strings.Join(s, ", ")
}

// withoutFlags drops the flags named (with their values: "--name V",
// "-name V" or "--name=V") from args.
func withoutFlags(args []string, names ...string) []string {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	var kept []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(kept, args[i:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !drop[name] {
			kept = append(kept, a)
			continue
		}
		if !hasValue {
			i++ // the value is the next argument
		}
	}
	return kept
}
