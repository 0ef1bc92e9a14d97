package spec

import (
	"fmt"
	"os"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/adapters/blackbox"
	"github.com/sockspec/sockspec/adapters/cpython"
	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/spec/driver"
)

// ResolveTarget finds a target by name: "reference" (the Go reference in
// this process), "mutant:NAME" (the reference with a registered
// mutation), "reference-process" (the reference as a process adapter,
// from the sockspec binary only), "cpython:VERSION" or "cpython:PATH" (an
// interpreter's own socketserver through adapters/cpython), or
// "process:COMMAND ARGS" (any adapter program) or "exec:COMMAND" (a
// server program with no adapter, judged as a black box: the options
// declare what it serves, see ExecOptions).
func ResolveTarget(name string) (driver.Target, error) {
	return ResolveTargetWith(name, blackbox.Options{})
}

// ResolveTargetWith is ResolveTarget with the declarations of an exec:
// target (family, dispatch, vouched capabilities); other targets ignore
// them.
func ResolveTargetWith(name string, exec blackbox.Options) (driver.Target, error) {
	switch {
	case strings.HasPrefix(name, "exec:"):
		exec.Command = strings.TrimSpace(strings.TrimPrefix(name, "exec:"))
		if exec.Command == "" {
			return nil, fmt.Errorf("target %q names no command: write exec:'COMMAND ARGS'", name)
		}
		return blackbox.New(exec)
	case name == "reference" || name == "":
		return &inproc.Target{}, nil
	case strings.HasPrefix(name, "mutant:"):
		m := strings.TrimPrefix(name, "mutant:")
		if !slices.Contains(inproc.Mutations(), m) {
			return nil, fmt.Errorf("unknown mutant %q: the %d mutants are named in spec/mutants (go test ./spec/mutants -run TestEveryRuleHasAMutant -v lists them)", m, len(inproc.Mutations()))
		}
		return &inproc.Target{Mutation: m}, nil
	case name == "reference-process" || strings.HasPrefix(name, "reference-process:"):
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("target %s: finding the sockspec executable: %w", name, err)
		}
		argv := []string{exe, "adapter"}
		label := "reference-process"
		if m, ok := strings.CutPrefix(name, "reference-process:"); ok {
			if !slices.Contains(inproc.Mutations(), m) {
				return nil, fmt.Errorf("unknown mutant %q in target %s", m, name)
			}
			argv = append(argv, "--mutation", m)
			label = "mutant-process:" + m
		}
		return &process.Target{Argv: argv, Label: label}, nil
	case strings.HasPrefix(name, "process:"):
		argv := strings.Fields(strings.TrimPrefix(name, "process:"))
		if len(argv) == 0 {
			return nil, fmt.Errorf("target %q names no command: write process:COMMAND ARGS", name)
		}
		return &process.Target{Argv: argv}, nil
	case strings.HasPrefix(name, "cpython:"):
		return cpython.NewTarget(strings.TrimPrefix(name, "cpython:"))
	}
	return nil, fmt.Errorf("unknown target %q: want reference, reference-process, mutant:NAME, cpython:VERSION (cpython:3.11), cpython:PATH, process:COMMAND or exec:COMMAND", name)
}

// Options of a run from the sockspec binary.
type Options struct {
	Target      driver.Target
	LabelFilter string
	FocusRegexp string
	Seed        int64
	ReportDir   string
	Verbose     bool
	// Expectations, when set, judge the run against known deviations.
	Expectations *Expectations
}

// testingT is what RunSpecs needs of a *testing.T outside go test.
type testingT struct{ failed bool }

func (t *testingT) Fail() { t.failed = true }

// Run runs the suite once in this process (Ginkgo allows one run per
// process) and returns the verdict.
func Run(o Options) (*Verdict, error) {
	SetTarget(o.Target)
	SetReportDir(o.ReportDir)
	SetExpectations(o.Expectations)
	sc, rc := GinkgoConfiguration()
	sc.LabelFilter = o.LabelFilter
	if o.FocusRegexp != "" {
		sc.FocusStrings = []string{o.FocusRegexp}
	}
	if o.Seed != 0 {
		sc.RandomSeed = o.Seed
	}
	rc.Verbose = o.Verbose
	rc.Succinct = !o.Verbose
	// Specs a filter leaves out would each print an S; N/A specs are
	// counted in the summary instead.
	rc.SilenceSkips = true
	// Colour only for a terminal: CI logs and files get plain text.
	if fi, err := os.Stdout.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		rc.NoColor = true
	}
	RegisterFailHandler(Fail)
	RunSpecs(&testingT{}, "sockspec: the BaseServer contract", sc, rc)
	v := LastVerdict()
	if v == nil {
		return nil, fmt.Errorf("the suite ended without a verdict")
	}
	return v, nil
}
