package spec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/netsim"
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
	// Strict is for a target that claims full conformance: every rule
	// must be PASS or N/A, so an expected deviation or a NON-STRICT counts
	// as a failure.
	Strict bool
	// KeepTimelines keeps every spec's timeline in the report, not only
	// those of the specs that did not pass (sockspec reproduce).
	KeepTimelines bool
	// Shard, for a run of one shard of the rules, is recorded in the
	// verdict, so that the shards' reports can be merged and checked
	// whole (Merge). It chooses nothing: the label filter does.
	Shard *Shard
	// Network is the simulated link between the suite's clients and the
	// target (a netsim profile: latency, loss, chopped writes, resets…);
	// nil is direct, the machine's own loopback. With one, every server a
	// spec starts is fronted by a real-time proxy (netsim/proxy) that
	// reaches the server through the session's own Dial, so it works for
	// every kind of target; its decisions are seeded from the run's seed
	// and the spec's text, and each is noted in the spec's timeline.
	// Specs that dial the server's address themselves (the address is
	// what they test) still speak to it directly.
	Network *netsim.Profile
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
	// refuseEmpty: a run that chooses no spec has no verdict (Run; under
	// go test, Ginkgo's own flags choose).
	refuseEmpty bool
	// empty: the filters chose no spec, so nothing was judged.
	empty bool
}

// ErrNoSpecs is the error of a run whose label filter or focus chooses no
// spec: a run that judged nothing has no verdict, least of all a
// conformant one.
var ErrNoSpecs = errors.New("no spec matches")

// Check reports what would make cfg's run meaningless before it starts:
// a focus that is no regular expression, a label filter that does not
// parse or that no spec's labels match (errors.Is ErrNoSpecs). Run calls
// it; a command line calls it to refuse its flags early.
func (c Config) Check() error {
	if c.Focus != "" {
		if _, err := regexp.Compile(c.Focus); err != nil {
			return fmt.Errorf("focus %q is no regular expression: %s", c.Focus, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
	if c.LabelFilter == "" {
		return nil
	}
	matches, err := types.ParseLabelFilter(c.LabelFilter)
	if err != nil {
		return fmt.Errorf("label filter %q does not parse: %s", c.LabelFilter, plainGinkgoError(err))
	}
	for _, labels := range suiteLabels() {
		if matches(labels) {
			return nil
		}
	}
	return fmt.Errorf("label filter %q: %w", c.LabelFilter, ErrNoSpecs)
}

// plainGinkgoError is a Ginkgo error in one line without its colour
// markup: its heading and the last line of its message.
func plainGinkgoError(err error) string {
	var ge types.GinkgoError
	if !errors.As(err, &ge) {
		return err.Error()
	}
	msg := strings.TrimSpace(markup.ReplaceAllString(ge.Message, ""))
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		msg = msg[i+1:]
	}
	return ge.Heading + ": " + strings.TrimSpace(msg)
}

// markup matches Ginkgo's formatter tags ({{red}}, {{/}}).
var markup = regexp.MustCompile(`\{\{[a-z/-]*\}\}`)

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
	if err := cfg.Check(); err != nil {
		return nil, err
	}
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
	return runSuite(&testingT{}, cfg, true, func(t GinkgoTestingT) { RunSpecs(t, suiteName, sc, rc) })
}

// RunTest runs the suite under go test, failing t with it: go test's
// -ginkgo.* flags choose the specs, the seed and the verbosity (cfg's
// LabelFilter, Focus, Seed and Verbose are not read).
func RunTest(t GinkgoTestingT, cfg Config) (*Verdict, error) {
	return runSuite(t, cfg, false, func(t GinkgoTestingT) { RunSpecs(t, suiteName) })
}

// runSuite makes cfg the current run while specs runs the suite. With
// refuseEmpty, a run whose filters chose no spec returns ErrNoSpecs.
func runSuite(t GinkgoTestingT, cfg Config, refuseEmpty bool, specs func(GinkgoTestingT)) (*Verdict, error) {
	if cfg.Target == nil {
		return nil, errors.New("spec: the run has no target: set Config.Target")
	}
	run := &activeRun{cfg: cfg, refuseEmpty: refuseEmpty}
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
	v, empty := run.verdict, run.empty
	current.Unlock()
	if empty {
		return nil, fmt.Errorf("%s: %w", describeFilters(cfg), ErrNoSpecs)
	}
	if v == nil {
		return nil, errors.New("the suite ended without a verdict")
	}
	return v, nil
}

// describeFilters names what chose a run's specs.
func describeFilters(c Config) string {
	var parts []string
	if c.LabelFilter != "" {
		parts = append(parts, fmt.Sprintf("label filter %q", c.LabelFilter))
	}
	if c.Focus != "" {
		parts = append(parts, fmt.Sprintf("focus %q", c.Focus))
	}
	if len(parts) == 0 {
		return "the run"
	}
	return strings.Join(parts, " and ")
}
