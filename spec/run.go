package spec

import (
	"fmt"
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

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
