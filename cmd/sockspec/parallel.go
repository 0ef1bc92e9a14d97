package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sockspec/sockspec/internal/buildinfo"
	"github.com/sockspec/sockspec/spec"
)

// maxDefaultProcs caps the processes a run uses unless --procs says
// otherwise. The suite's specs mostly wait (for a bound, a timeout, a
// client that trickles), so a run gains from more processes than cores,
// but each process adds its servers' load and its own start.
const maxDefaultProcs = 4

// defaultProcs is the number of processes a run of cfg uses by default:
// twice the CPUs Go may use, at most maxDefaultProcs; one for a run that
// prints every spec (-v) or is focused on a few specs (--focus: a replay
// command), whose output must read as one.
func defaultProcs(cfg spec.Config) int {
	if cfg.Verbose || cfg.Focus != "" {
		return 1
	}
	return min(max(2*runtime.GOMAXPROCS(0), 1), maxDefaultProcs)
}

// newSeed is a new random seed, as Ginkgo would pick one.
func newSeed() int64 { return time.Now().Unix() }

// parallelRun is a run split across processes.
type parallelRun struct {
	// args are run's arguments without those each process is given:
	// --procs, --report-dir, --seed, --label-filter, --shard.
	args []string
	// filter is the user's label filter; each process runs its piece of
	// the rules within it.
	filter string
	// pieces are the rules of each process.
	pieces [][]string
	// cfg is the run's configuration: its seed (the same in every
	// process), report directory, and shard when the run is one.
	cfg spec.Config
}

// parallel runs the suite as len(p.pieces) processes of this program,
// each a run of its piece of the rules with the same seed, at the same
// time, and merges their verdicts into the one a single process would
// give: one summary, one report directory, one exit status. Each
// process's servers have sockets and files of their own (ports the
// kernel picks, paths in directories made for each session) and cgroups
// named by its pid, so the processes share nothing a verdict depends on.
//
// Each process's output and reports go to DIR/processes/K, DIR being
// --report-dir (a temporary directory without one, removed afterwards
// when every process reported); once merged, only the outputs stay. An
// interrupt stops every process as it stops a run (SIGTERM: each kills
// its adapters), and the run exits 2.
func parallel(ctx context.Context, e env, p parallelRun) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: --procs: %v\n", err)
		return 2
	}
	base, temporary := p.cfg.ReportDir, p.cfg.ReportDir == ""
	if temporary {
		if base, err = os.MkdirTemp("", "sockspec-procs-"); err != nil {
			fmt.Fprintf(e.Stderr, "sockspec run: --procs: %v\n", err)
			return 2
		}
	}
	dirs := make([]string, len(p.pieces))
	for i := range p.pieces {
		dirs[i] = filepath.Join(base, "processes", fmt.Sprint(i+1))
	}
	rules := 0
	for _, piece := range p.pieces {
		rules += len(piece)
	}
	fmt.Fprintf(e.Stdout, "sockspec run: %d rules in %d processes, seed %d; each one's output goes to %s\n",
		rules, len(p.pieces), p.cfg.Seed, filepath.Join(base, "processes", "K", childOutput))
	runs := make([]childRun, len(p.pieces))
	var wg sync.WaitGroup
	var printing sync.Mutex
	for i, piece := range p.pieces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append(append([]string{"run"}, p.args...),
				"--label-filter", ruleFilter(p.filter, piece), "--procs", "1",
				"--seed", fmt.Sprint(p.cfg.Seed), "--report-dir", dirs[i])
			runs[i] = runChild(ctx, exe, args, dirs[i], repeatBound)
			printing.Lock()
			defer printing.Unlock()
			fmt.Fprintf(e.Stdout, "sockspec run: process %d/%d (%d rules): %s\n", i+1, len(p.pieces), len(piece), describeRun(runs[i]))
		}()
	}
	wg.Wait()
	keep := func(why string) int {
		fmt.Fprintf(e.Stdout, "sockspec run: %s; each process's output and reports are in %s\n", why, filepath.Join(base, "processes", "K"))
		return 2
	}
	if ctx.Err() != nil {
		return keep("interrupted")
	}
	verdicts := make([]*spec.Verdict, len(runs))
	for i, r := range runs {
		if r.Verdict == nil {
			fmt.Fprintf(e.Stderr, "sockspec run: process %d/%d left no verdict: %s\n", i+1, len(runs), r.Error)
			return keep("a process left no verdict")
		}
		verdicts[i] = r.Verdict
	}
	v, err := spec.Merge(verdicts...)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: the processes' verdicts do not merge: %v\n", err)
		return keep("no verdict")
	}
	v.Shard = p.cfg.Shard
	for _, d := range dirs {
		// The merged reports say it all; a CI that collects every
		// junit.xml under DIR must not count a spec twice.
		os.Remove(filepath.Join(d, "junit.xml"))
		os.Remove(filepath.Join(d, "report.json"))
	}
	if temporary {
		os.RemoveAll(base)
	} else if err := spec.WriteReports(base, v); err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: %v\n", err)
		return 2
	}
	spec.WriteSummary(e.Stdout, v)
	return exitStatus(v)
}

// emptyShard ends the run of a shard that has no spec to run: more shards
// than the filters choose rules, or a --focus that chooses nothing here.
// Its report says so, with no rule, so that merging every shard still
// finds each one.
func emptyShard(e env, cfg spec.Config) int {
	info := cfg.Target.Info()
	empty := &spec.Verdict{
		Sockspec: buildinfo.Read(), Target: info.Name, Version: info.Version, TargetArgs: cfg.TargetArgs,
		Seed: cfg.Seed, Strict: cfg.Strict, Started: time.Now(), Conformant: true,
	}
	if cfg.Expectations != nil {
		empty.Expectations = cfg.Expectations.Source
	}
	v, err := spec.Merge(empty)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: %v\n", err)
		return 2
	}
	v.Shard = cfg.Shard
	if cfg.ReportDir != "" {
		if err := spec.WriteReports(cfg.ReportDir, v); err != nil {
			fmt.Fprintf(e.Stderr, "sockspec run: %v\n", err)
			return 2
		}
	}
	what := "no rule of those the label filter chooses falls to it"
	if len(cfg.Shard.Rules) > 0 {
		what = "--focus chooses none of its specs (rules " + strings.Join(cfg.Shard.Rules, ", ") + ")"
	}
	fmt.Fprintf(e.Stdout, "sockspec run: shard %d/%d has nothing to run: %s\n", cfg.Shard.Index, cfg.Shard.Count, what)
	return 0
}
