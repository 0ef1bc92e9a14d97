package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/adapters/cpython"
	"github.com/sockspec/sockspec/containers"
	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/spec"
	"github.com/sockspec/sockspec/spec/driver"
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
        reference (the Go reference, in this process; the default),
        reference-process (the reference as a protocol adapter process),
        mutant:NAME (the reference broken on purpose; see spec/mutants),
        cpython:VERSION or cpython:PATH (an interpreter's own socketserver:
        cpython:3.11, cpython:2.7, cpython:/usr/bin/python3),
        process:COMMAND (any adapter of spec/driver/PROTOCOL.md; the
        command is split into words as a POSIX shell would, quotes and
        backslashes honoured, nothing expanded), or
        exec:'COMMAND' (any server program, judged as a black box from
        its clients and /proc: it reads SOCKSPEC_ADDRESS, or prints the
        address it serves as its first line; rules that need its hook
        calls or drive its methods are N/A), or
        container:reference, container:cpython:X.Y (the same adapters,
        inside a hardened container of an image 'make images' built),
        container:image=NAME[,cmd=ARGV] (your own image's server, judged
        as exec: judges a program) or container:adapter=NAME[,cmd=ARGV]
        (your image's adapter)
  --family F      what an exec: program serves: tcp (default), udp,
                  unix_stream or unix_dgram (--family, --dispatch and
                  --vouch describe exec: and container:image= targets
                  only; others refuse them)
  --dispatch D    what an exec: program does per request: sync (default),
                  threading or forking
  --vouch CAPS    capabilities you vouch an exec: program has, comma
                  separated: signals (it survives SIGUSR1 and SIGALRM)
  --label-filter EXPR
        run only the specs whose labels match EXPR, Ginkgo's label syntax:
        rule:ORD-03, or 'rule:ORD-03 || rule:SHD-02' ('sockspec rules'
        lists the IDs); a filter that matches no spec is refused
  --focus REGEXP
        run only the specs whose text matches (a Go regular expression)
  --seed N
        the order's random seed (default: a new one, printed)
` + networkFlagUsage + `  --report-dir DIR
        write junit.xml and report.json (rule, outcome, duration, failure
        with the trace) into DIR
  --validate-protocol
        check every message a process adapter writes against the
        protocol's JSON Schema (spec/driver/protocol.schema.json) and
        refuse unknown fields; the first message that does not conform
        ends its spec as ERROR
  --expectations auto|none|FILE
        judge against the target's known deviations: auto (the default)
        takes the file shipped for the interpreter and version a cpython:
        target reports (adapters/cpython/expect), none shows the raw
        verdicts, FILE is a file of your own (format: the shipped ones)
  --strict
        for an implementation that claims full conformance: every rule
        must be PASS or N/A; an expected deviation and a NON-STRICT (a
        SHOULD rule broken) count as failures
  -v    print every spec as it runs
  --procs N
        run the rules in N processes of this program at once, each with
        the same seed and its share of the rules (as --shard splits them),
        and merge their verdicts into one: one summary, one report, one
        exit status, the verdict of a run in one process (default: twice
        the CPUs, at most 4, since most specs wait; 1 with -v or --focus).
        Each process's output goes to DIR/processes/K/output.txt
  --shard K/N
        run the K-th of N shards of the rules, for a CI matrix: a rule's
        specs all fall in one shard, and the split, by each rule's usual
        run time, depends on the rules and the label filter alone. The
        report says which shard it is; 'sockspec report merge' joins the
        shards' reports into the run's verdict. A shard with nothing to
        run reports so and exits 0
  --rerun-failed DIR
        run again the rules whose outcome the verdict saved in DIR (a
        --report-dir, or its report.json) did not accept, with that run's
        target, seed and expectations; flags given here override them. A
        run with nothing to rerun says so and exits 0
  --repeat N
        run the suite N times, each in a process of its own, and name the
        rules whose outcome changed from run to run (a verdict that hangs
        on timing); each run's output and reports go to DIR/run-K, DIR
        being --report-dir (default: a new temporary directory)

Before the suite, the target is probed: one server of a family it claims
is started and closed, and a target that cannot start stops the run with
one line naming the cause.

Exit status: 0 conformant (no FAIL, HANG or ERROR; with expectations:
every rule as they say; with --strict: every rule PASS or N/A), 1 not
conformant, 2 harness error, a target that cannot start, or bad flags
(a --label-filter or --focus that matches no spec among them).
With --repeat: the worst of the runs', and 1 at least when an outcome
changed from run to run.
`

// runFlags are run's flags once parsed.
type runFlags struct {
	fs          *flag.FlagSet
	cfg         spec.Config
	target      string
	exec        func() driver.OpenOptions
	network     func(o *spec.Config) (args string, err error)
	validate    bool
	expect      string
	repeat      int
	shard       string
	procs       int
	rerunFailed string
}

// parseRunFlags parses run's command line.
func parseRunFlags(e env, args []string) (*runFlags, int, bool) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &runFlags{fs: fs}
	fs.StringVar(&f.target, "target", "reference", "")
	f.exec = execFlags(fs)
	f.network = networkFlag(fs)
	fs.StringVar(&f.cfg.LabelFilter, "label-filter", "", "")
	fs.StringVar(&f.cfg.Focus, "focus", "", "")
	fs.Int64Var(&f.cfg.Seed, "seed", 0, "")
	fs.StringVar(&f.cfg.ReportDir, "report-dir", "", "")
	fs.BoolVar(&f.cfg.Verbose, "v", false, "")
	fs.BoolVar(&f.validate, "validate-protocol", false, "")
	fs.StringVar(&f.expect, "expectations", "auto", "")
	fs.IntVar(&f.repeat, "repeat", 1, "")
	fs.BoolVar(&f.cfg.Strict, "strict", false, "")
	fs.StringVar(&f.shard, "shard", "", "")
	fs.IntVar(&f.procs, "procs", 0, "")
	fs.StringVar(&f.rerunFailed, "rerun-failed", "", "")
	if status, done := parseFlags(e, fs, "run", runUsage, args); done {
		return nil, status, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "sockspec run: unexpected argument %q: every option is a flag; run 'sockspec help run'\n", fs.Arg(0))
		return nil, 2, true
	}
	return f, 0, false
}

func runRun(ctx context.Context, e env) int {
	args := e.Args
	f, status, done := parseRunFlags(e, args)
	if done {
		return status
	}
	if f.rerunFailed != "" {
		// The saved run's target, seed and expectations come first, so
		// that the command line's own flags override them.
		saved, failed, err := rerunArgs(f.rerunFailed)
		if err != nil {
			fmt.Fprintf(e.Stderr, "sockspec run: --rerun-failed %s: %v\n", f.rerunFailed, err)
			return 2
		}
		if len(failed) == 0 {
			fmt.Fprintf(e.Stdout, "sockspec run: --rerun-failed %s: no rule had an unexpected outcome there: nothing to rerun\n", f.rerunFailed)
			return 0
		}
		args = append(saved, withoutFlags(args, "rerun-failed")...)
		if f, status, done = parseRunFlags(e, args); done {
			return status
		}
		f.cfg.LabelFilter = ruleFilter(f.cfg.LabelFilter, failed)
		args = append(withoutFlags(args, "label-filter"), "--label-filter", f.cfg.LabelFilter)
		if ids, err := spec.ChosenRules(f.cfg.LabelFilter); err == nil && len(ids) == 0 {
			fmt.Fprintf(e.Stdout, "sockspec run: --rerun-failed %s: none of its unexpected rules (%s) is among those --label-filter chooses: nothing to rerun\n", f.rerunFailed, strings.Join(failed, ", "))
			return 0
		}
	}
	o := f.cfg
	if f.repeat < 1 {
		fmt.Fprintf(e.Stderr, "sockspec run: --repeat %d: give the number of runs, 1 or more\n", f.repeat)
		return 2
	}
	if f.procs < 0 {
		fmt.Fprintf(e.Stderr, "sockspec run: --procs %d: give the number of processes, 1 or more (0: as many as suit the machine)\n", f.procs)
		return 2
	}
	var shard *shardSpec
	if f.shard != "" {
		s, err := parseShard(f.shard)
		if err != nil {
			fmt.Fprintf(e.Stderr, "sockspec run: --shard: %v\n", err)
			return 2
		}
		shard = &s
	}
	if err := o.Check(); err != nil {
		return refuseFilters(e, "run", err)
	}
	target, targetArgs, code := prepareTarget(ctx, e, "run", f.target, f.fs, f.exec(), f.validate)
	if code != 0 {
		return code
	}
	defer closeTarget(e, "run", target)
	if o.Strict {
		targetArgs += " --strict"
	}
	netArgs, err := f.network(&o)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: --network: %v\n", err)
		return 2
	}
	o.Target, o.TargetArgs = target, targetArgs+netArgs
	if o.Expectations, err = loadExpectations(f.expect, target); err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: --expectations: %v\n", err)
		return 2
	}
	if ctx.Err() != nil {
		// Interrupted while the target was probed, before the suite (and
		// its own interrupt handling) began.
		fmt.Fprintf(e.Stderr, "sockspec run: interrupted before the first spec\n")
		return 2
	}
	if f.repeat > 1 {
		// Each run reads the expectations again; they were checked here.
		return repeated(ctx, e, "run", args, f.repeat, o.ReportDir, o.Seed)
	}
	chosen, err := spec.ChosenRules(o.LabelFilter)
	if err != nil {
		return refuseFilters(e, "run", err)
	}
	if shard != nil {
		chosen = shardRules(chosen, shard.Count)[shard.Index-1]
		o.Shard = &spec.Shard{Index: shard.Index, Count: shard.Count, Rules: chosen}
		if len(chosen) == 0 {
			return emptyShard(e, o)
		}
		o.LabelFilter = ruleFilter(f.cfg.LabelFilter, chosen)
	}
	procs := f.procs
	if procs == 0 {
		procs = defaultProcs(o)
	}
	if procs = min(procs, len(chosen)); procs > 1 {
		if o.Seed == 0 {
			o.Seed = newSeed()
		}
		return parallel(ctx, e, parallelRun{
			args:   withoutFlags(args, "procs", "report-dir", "seed", "label-filter", "shard", "rerun-failed", "repeat"),
			filter: f.cfg.LabelFilter,
			pieces: shardRules(chosen, procs),
			cfg:    o,
		})
	}
	defer killOnInterrupt()()
	o.Summary = e.Stdout
	v, err := spec.Run(o)
	if o.Shard != nil && errors.Is(err, spec.ErrNoSpecs) {
		// --focus chose no spec of this shard; another may have some.
		return emptyShard(e, o)
	}
	if err != nil {
		return refuseFilters(e, "run", err)
	}
	return exitStatus(v)
}

// refuseFilters prints why a run cannot start, or judged nothing, in one
// line, and returns the status of a usage error.
func refuseFilters(e env, command string, err error) int {
	hint := ""
	if errors.Is(err, spec.ErrNoSpecs) {
		hint = ": 'sockspec rules' lists the rules, to filter on as rule:ID"
	}
	fmt.Fprintf(e.Stderr, "sockspec %s: %v%s\n", command, err, hint)
	return 2
}

// exitStatus maps a verdict to the exit status of run and reproduce.
func exitStatus(v *spec.Verdict) int {
	switch {
	case len(v.HarnessFailures) > 0 || v.Counts[spec.OutcomeError] > 0:
		return 2
	case !v.Conformant:
		return 1
	}
	return 0
}

// prepareTarget resolves the --target of command and checks it can run:
// flags that describe another kind of target are refused, and the target
// is probed (probeTarget). It returns the target (the caller closes it), the arguments that name
// it again (for rerun commands) and, for a bad target, the exit status.
func prepareTarget(ctx context.Context, e env, command, name string, fs *flag.FlagSet, exec driver.OpenOptions, validate bool) (driver.Target, string, int) {
	if given := givenFlags(fs, execFlagNames...); len(given) > 0 && !declaresServer(name) {
		fmt.Fprintf(e.Stderr, "sockspec %s: --%s describes a server with no adapter, and --target %s is not one: drop it (only exec: and container:image= targets use %s)\n",
			command, given[0], name, "--"+strings.Join(execFlagNames, ", --"))
		return nil, "", 2
	}
	target, err := openTarget(name, exec)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec %s: --target: %v\n", command, err)
		return nil, "", 2
	}
	refuse := func(format string, a ...any) (driver.Target, string, int) {
		fmt.Fprintf(e.Stderr, format, a...)
		target.Close()
		return nil, "", 2
	}
	if validate {
		// Targets that speak the protocol to an adapter (process:,
		// cpython:, reference-process, container:) can check its lines.
		v, ok := target.(interface{ SetValidate(bool) bool })
		if !ok || !v.SetValidate(true) {
			return refuse("sockspec %s: --validate-protocol checks what an adapter writes, and --target %s speaks to none\n", command, name)
		}
	}
	if t, ok := target.(interface{ Err() error }); ok {
		if err := t.Err(); err != nil {
			return refuse("sockspec %s: --target %s: %v\n", command, name, err)
		}
	}
	if err := probeTarget(ctx, target); err != nil {
		return refuse("sockspec %s: --target %s: %v\n", command, name, oneLine(err.Error()))
	}
	args := "--target " + spec.ShellQuote(name)
	if declaresServer(name) {
		args += fmt.Sprintf(" --family %s --dispatch %s", exec.Family, exec.Dispatch)
		if len(exec.Vouch) > 0 {
			args += " --vouch " + strings.Join(exec.Vouch, ",")
		}
	}
	return target, args, 0
}

// closeTarget closes the target of a run once it is over: a container
// target removes its containers (its spares, its network holder) then.
func closeTarget(e env, command string, target driver.Target) {
	if err := target.Close(); err != nil {
		fmt.Fprintf(e.Stderr, "sockspec %s: closing the target: %s\n", command, oneLine(err.Error()))
	}
}

// declaresServer tells the targets whose server the user describes with
// --family, --dispatch and --vouch: programs with no adapter, judged from
// outside (exec:, and container:image= inside an image).
func declaresServer(name string) bool {
	return strings.HasPrefix(name, "exec:") || strings.HasPrefix(name, "container:image=")
}

// execFlagNames are the flags that describe an exec: target.
var execFlagNames = []string{"family", "dispatch", "vouch"}

// givenFlags lists which of names the command line set.
func givenFlags(fs *flag.FlagSet, names ...string) []string {
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(names, f.Name) {
			given = append(given, f.Name)
		}
	})
	return given
}

// execFlags declares the flags that describe an exec: target and returns
// their values once parsed.
func execFlags(fs *flag.FlagSet) func() driver.OpenOptions {
	family := fs.String("family", "tcp", "")
	dispatch := fs.String("dispatch", "sync", "")
	vouch := fs.String("vouch", "", "")
	return func() driver.OpenOptions {
		o := driver.OpenOptions{Family: driver.Family(*family), Dispatch: driver.Dispatch(*dispatch)}
		for _, c := range strings.Split(*vouch, ",") {
			if c = strings.TrimSpace(c); c != "" {
				o.Vouch = append(o.Vouch, c)
			}
		}
		return o
	}
}

// killOnInterrupt makes SIGINT and SIGTERM kill adapters and their
// request children first; Ginkgo then ends the run and reports what it
// has. The returned func stops listening.
func killOnInterrupt() func() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; ok {
			procgroup.KillAll() // adapters and exec: programs alike
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			containers.RemoveRun(ctx) // the run's containers, when it has any
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(sigs)
	}
}

// loadExpectations reads the expectations the flag names.
func loadExpectations(flag string, target driver.Target) (*spec.Expectations, error) {
	switch flag {
	case "none", "":
		return nil, nil
	case "auto":
		// Targets that run another implementation's adapter (process:,
		// cpython:, container:) know what it said it is.
		impl, ok := target.(interface{ Implementation() (name, version string) })
		if !ok {
			return nil, nil
		}
		name, version := impl.Implementation()
		data, file, ok := cpython.Expectations(name, version)
		if !ok {
			return nil, nil
		}
		return spec.ParseExpectations(data, file)
	}
	data, err := os.ReadFile(flag)
	if err != nil {
		return nil, err
	}
	return spec.ParseExpectations(data, flag)
}
