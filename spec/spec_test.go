package spec_test

import (
	"flag"
	"testing"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec"
	"github.com/sockspec/sockspec/spec/driver"
	"github.com/sockspec/sockspec/spec/mutants"
	"github.com/sockspec/sockspec/spec/rules"
)

var (
	targetName = flag.String("sockspec.target", "reference", "target to run the suite against: reference or mutant:NAME")
	reportDir  = flag.String("sockspec.report-dir", "", "directory for junit.xml and report.json")
)

func TestMain(m *testing.M) {
	inproc.ChildMain(mutants.Set())
	// Ginkgo keeps its interrupt handler for the life of the process.
	testkit.Main(m, goleak.IgnoreTopFunction("github.com/onsi/ginkgo/v2/internal/interrupt_handler.(*InterruptHandler).registerForInterrupts.func2"))
}

func TestSpec(t *testing.T) {
	targets := driver.NewRegistry(inproc.ReferenceScheme(), inproc.MutantScheme(mutants.Set()))
	target, err := targets.Open(*targetName, driver.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.RunTest(t, spec.Config{Target: target, ReportDir: *reportDir, TargetArgs: "--target " + spec.ShellQuote(*targetName)}); err != nil {
		t.Fatal(err)
	}
	// The tree is built whole whatever the filters, so every rule's specs
	// have been declared by now.
	perRule := spec.SpecsPerRule()
	for _, r := range rules.All() {
		if perRule[r.ID] == 0 {
			t.Errorf("rule %s (%s) has no spec: declare one with spec.Rule(%q, …)", r.ID, r.Title, r.ID)
		}
	}
	for _, c := range spec.Cases() {
		for _, id := range c.Rules {
			if perRule[id] == 0 {
				t.Errorf("edge case %s names %s, which has no spec", c.Name, id)
			}
		}
	}
}
