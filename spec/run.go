package spec

import (
	"errors"
	"io"
	"os"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// Config is one run of the suite: what it runs against, how its verdict is
// judged and where it is reported. Run makes it the current run for the
// suite's duration; nothing else configures the suite, so what a run did
// depends on its Config alone.
type Config struct {
	// Target is what the suite runs against.
	Target driver.Target
	// Expectations, when set, judge the run against known deviations.
	Expectations *Expectations
	// ReportDir, when set, receives junit.xml and report.json.
	ReportDir string
	// Summary receives the summary table; nil is standard output.
	Summary io.Writer
	// TargetArgs are the command-line arguments that name the target,
	// quoted for a shell ("--target cpython:3.11"), for the report's
	// replay commands; "" is "--target reference".
	TargetArgs string
	// Seed is the order's random seed; 0 is a new one.
	Seed int64
	// LabelFilter and Focus choose the specs: Ginkgo's label syntax
	// (rule:ORD-03) and a regular expression of the specs' text.
	LabelFilter string
	Focus       string
	// Verbose prints every spec as it runs.
	Verbose bool
	// KeepTimelines keeps every spec's timeline in the report, not only
	// those of the specs that did not pass (sockspec reproduce).
	KeepTimelines bool
	// Network names the network profile between the suite's clients and
	// the target; "" is direct, the machine's own. Reserved: nothing reads
	// it yet; the network simulator's tier (netsim) fills it.
	Network string
}

// summary is where the run's summary goes.
func (c Config) summary() io.Writer {
	if c.Summary == nil {
		return os.Stdout
	}
	return c.Summary
}

// targetArgs name the target in replay commands.
func (c Config) targetArgs() string {
	if c.TargetArgs == "" {
		return "--target reference"
	}
	return c.TargetArgs
}

// activeRun is the run under way and, once the suite has ended, its
// verdict.
type activeRun struct {
	cfg     Config
	verdict *Verdict
}

// current is the run under way; Ginkgo runs one suite at a time.
var current struct {
	sync.Mutex
	run *activeRun
}

// currentRun is the run under way; the specs read its target through it.
func currentRun() *activeRun {
	current.Lock()
	defer current.Unlock()
	if current.run == nil {
		panic("spec: no run under way: the suite runs through spec.Run or spec.RunTest")
	}
	return current.run
}

// currentTarget is the current run's target.
func currentTarget() driver.Target { return currentRun().cfg.Target }

// TargetInfo describes the target under test.
func TargetInfo() driver.Info { return currentTarget().Info() }

// testingT is what RunSpecs needs of a *testing.T outside go test.
type testingT struct{ failed bool }

func (t *testingT) Fail() { t.failed = true }

// suiteName is the suite's description in Ginkgo's output.
const suiteName = "sockspec: the BaseServer contract"

// Run runs the suite once in this process (Ginkgo allows one run per
// process) as cfg says, and returns the verdict.
func Run(cfg Config) (*Verdict, error) {
	sc, rc := GinkgoConfiguration()
	sc.LabelFilter = cfg.LabelFilter
	if cfg.Focus != "" {
		sc.FocusStrings = []string{cfg.Focus}
	}
	if cfg.Seed != 0 {
		sc.RandomSeed = cfg.Seed
	}
	rc.Verbose = cfg.Verbose
	rc.Succinct = !cfg.Verbose
	// Specs a filter leaves out would each print an S; N/A specs are
	// counted in the summary instead.
	rc.SilenceSkips = true
	// Colour only for a terminal: CI logs and files get plain text.
	if fi, err := os.Stdout.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		rc.NoColor = true
	}
	return runSuite(&testingT{}, cfg, func(t GinkgoTestingT) { RunSpecs(t, suiteName, sc, rc) })
}

// RunTest runs the suite under go test, failing t with it: go test's
// -ginkgo.* flags choose the specs, the seed and the verbosity (cfg's
// LabelFilter, Focus, Seed and Verbose are not read).
func RunTest(t GinkgoTestingT, cfg Config) (*Verdict, error) {
	return runSuite(t, cfg, func(t GinkgoTestingT) { RunSpecs(t, suiteName) })
}

// runSuite makes cfg the current run while specs runs the suite.
func runSuite(t GinkgoTestingT, cfg Config, specs func(GinkgoTestingT)) (*Verdict, error) {
	if cfg.Target == nil {
		return nil, errors.New("spec: the run has no target: set Config.Target")
	}
	run := &activeRun{cfg: cfg}
	current.Lock()
	if current.run != nil {
		current.Unlock()
		return nil, errors.New("spec: a run is already under way in this process")
	}
	current.run = run
	current.Unlock()
	defer func() {
		current.Lock()
		current.run = nil
		current.Unlock()
	}()
	RegisterFailHandler(Fail)
	specs(t)
	current.Lock()
	v := run.verdict
	current.Unlock()
	if v == nil {
		return nil, errors.New("the suite ended without a verdict")
	}
	return v, nil
}
