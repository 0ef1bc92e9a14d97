package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sockspec/sockspec/adapters/cpython"
	"github.com/sockspec/sockspec/adapters/process"
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
        process:COMMAND (any adapter of spec/driver/PROTOCOL.md), or
        exec:'COMMAND' (any server program, judged as a black box from
        its clients and /proc: it reads SOCKSPEC_ADDRESS, or prints the
        address it serves as its first line; rules that need its hook
        calls or drive its methods are N/A)
  --family F      what an exec: program serves: tcp (default), udp,
                  unix_stream or unix_dgram
  --dispatch D    what an exec: program does per request: sync (default),
                  threading or forking
  --vouch CAPS    capabilities you vouch an exec: program has, comma
                  separated: signals (it survives SIGUSR1 and SIGALRM)
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
  --validate-protocol
        check every message a process adapter writes against the
        protocol's schema (spec/driver/protocol.schema.json); the first
        that does not conform ends its spec as ERROR
  --expectations auto|none|FILE
        judge against the target's known deviations: auto (the default)
        takes the file shipped for the interpreter and version a cpython:
        target reports (adapters/cpython/expect), none shows the raw
        verdicts, FILE is a file of your own (format: the shipped ones)
  -v    print every spec as it runs
  --repeat N
        run the suite N times, each in a process of its own, and name the
        rules whose outcome changed from run to run (a verdict that hangs
        on timing); each run's output and reports go to DIR/run-K, DIR
        being --report-dir (default: a new temporary directory)

Exit status: 0 conformant (no FAIL, HANG or ERROR; with expectations:
every rule as they say), 1 not conformant, 2 harness error or bad flags.
With --repeat: the worst of the runs', and 1 at least when an outcome
changed from run to run.
`

func runRun(ctx context.Context, e env) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o spec.Config
	targetName := fs.String("target", "reference", "")
	exec := execFlags(fs)
	fs.StringVar(&o.LabelFilter, "label-filter", "", "")
	fs.StringVar(&o.Focus, "focus", "", "")
	fs.Int64Var(&o.Seed, "seed", 0, "")
	fs.StringVar(&o.ReportDir, "report-dir", "", "")
	fs.BoolVar(&o.Verbose, "v", false, "")
	validate := fs.Bool("validate-protocol", false, "")
	expect := fs.String("expectations", "auto", "")
	repeat := fs.Int("repeat", 1, "")
	if status, done := parseFlags(e, fs, "run", runUsage, e.Args); done {
		return status
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "sockspec run: unexpected argument %q: every option is a flag; run 'sockspec help run'\n", fs.Arg(0))
		return 2
	}
	if *repeat < 1 {
		fmt.Fprintf(e.Stderr, "sockspec run: --repeat %d: give the number of runs, 1 or more\n", *repeat)
		return 2
	}
	target, targetArgs, code := prepareTarget(e, "run", *targetName, exec(), *validate)
	if code != 0 {
		return code
	}
	o.Target, o.TargetArgs = target, targetArgs
	var err error
	if o.Expectations, err = loadExpectations(*expect, target); err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: --expectations: %v\n", err)
		return 2
	}
	if ctx.Err() != nil {
		// Interrupted while the target was probed, before the suite (and
		// its own interrupt handling) began.
		fmt.Fprintf(e.Stderr, "sockspec run: interrupted before the first spec\n")
		return 2
	}
	if *repeat > 1 {
		// Each run reads the expectations again; they were checked here.
		return repeated(ctx, e, "run", e.Args, *repeat, o.ReportDir, o.Seed)
	}
	defer killOnInterrupt()()
	o.Summary = e.Stdout
	v, err := spec.Run(o)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec run: %v\n", err)
		return 2
	}
	return exitStatus(v)
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

// prepareTarget resolves the --target of command and checks it can run.
// It returns the target, the arguments that name it again (for rerun
// commands) and, for a bad target, the exit status.
func prepareTarget(e env, command, name string, exec driver.OpenOptions, validate bool) (driver.Target, string, int) {
	target, err := openTarget(name, exec)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec %s: --target: %v\n", command, err)
		return nil, "", 2
	}
	if pt, ok := target.(*process.Target); ok {
		pt.Validate = validate
		if err := pt.Err(); err != nil {
			fmt.Fprintf(e.Stderr, "sockspec %s: --target %s: %v\n", command, name, err)
			return nil, "", 2
		}
	} else if validate {
		fmt.Fprintf(e.Stderr, "sockspec %s: --validate-protocol checks what a process adapter writes; --target %s runs in this process\n", command, name)
		return nil, "", 2
	}
	args := "--target " + spec.ShellQuote(name)
	if strings.HasPrefix(name, "exec:") {
		args += fmt.Sprintf(" --family %s --dispatch %s", exec.Family, exec.Dispatch)
		if len(exec.Vouch) > 0 {
			args += " --vouch " + strings.Join(exec.Vouch, ",")
		}
	}
	return target, args, 0
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
		pt, ok := target.(*process.Target)
		if !ok {
			return nil, nil
		}
		name, version := pt.Implementation()
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
