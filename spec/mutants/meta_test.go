package mutants_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec"
	"github.com/sockspec/sockspec/spec/mutants"
	"github.com/sockspec/sockspec/spec/rules"
)

// envRun, when set to "MUTANT RULE DIR", makes this test binary run the
// suite's specs of RULE against mutant MUTANT and write the report to DIR,
// instead of running its tests: Ginkgo runs once per process, so every
// mutant gets a process of its own.
const envRun = "SOCKSPEC_MUTANT_RUN"

func TestMain(m *testing.M) {
	inproc.ChildMain(mutants.Set())
	if run := os.Getenv(envRun); run != "" {
		os.Exit(runOne(run))
	}
	testkit.Main(m)
}

func runOne(run string) int {
	f := strings.Fields(run)
	if len(f) != 3 {
		fmt.Fprintf(os.Stderr, "%s=%q: want MUTANT RULE DIR\n", envRun, run)
		return 2
	}
	target := &inproc.Target{Mutation: f[0], Mutations: mutants.Set()}
	_, err := spec.Run(spec.Config{Target: target, LabelFilter: "rule:" + f[1], ReportDir: f[2], Summary: io.Discard})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// Every mutant names a rule of the registry, and every rule has a mutant.
func TestEveryRuleHasAMutant(t *testing.T) {
	names := map[string]bool{}
	have := map[string]bool{}
	for _, m := range mutants.All() {
		if names[m.Name] {
			t.Errorf("mutant %s registered twice", m.Name)
		}
		names[m.Name] = true
		if _, ok := rules.Lookup(m.Rule); !ok {
			t.Errorf("mutant %s breaks %s, which is no rule", m.Name, m.Rule)
		}
		have[m.Rule] = true
	}
	var missing []string
	for _, r := range rules.All() {
		if !have[r.ID] {
			missing = append(missing, r.ID)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d rules have no mutant: %s", len(missing), strings.Join(missing, " "))
	}
}

// mutantBound bounds one mutant's run; a spec's own deadline is 30 s.
const mutantBound = 2 * time.Minute

// Every mutant is killed: its rule's specs do not pass against it.
func TestMutantsAreKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("the meta-suite runs every mutant in a process of its own")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	all := mutants.All()
	type result struct {
		m       mutants.Mutant
		outcome spec.Outcome
		detail  string
	}
	results := make([]result, len(all))
	sem := make(chan struct{}, 4) // the runs mostly wait on bounded timeouts
	var wg sync.WaitGroup
	for i, m := range all {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, detail := runMutant(t, exe, m)
			results[i] = result{m, out, detail}
		}()
	}
	wg.Wait()
	killed := 0
	var survivors []string
	for _, r := range results {
		switch r.outcome {
		case spec.OutcomeFail, spec.OutcomeNonStrict, spec.OutcomeHang:
			killed++
		default:
			survivors = append(survivors, fmt.Sprintf("  %s (%s: %s) → %s %s", r.m.Name, r.m.Rule, r.m.Break, r.outcome, r.detail))
		}
	}
	sort.Strings(survivors)
	t.Logf("mutation score: %d/%d killed", killed, len(all))
	if len(survivors) > 0 {
		t.Errorf("%d mutants survived:\n%s", len(survivors), strings.Join(survivors, "\n"))
	}
}

// runMutant runs the mutant's rule specs in a child process and returns the
// rule's outcome.
func runMutant(t *testing.T, exe string, m mutants.Mutant) (spec.Outcome, string) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), mutantBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %s", envRun, m.Name, m.Rule, dir), "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("(the run failed: %v; output tail: %s)", err, tail(out))
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		return "", fmt.Sprintf("(no report: %v)", err)
	}
	var v spec.Verdict
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Sprintf("(bad report: %v)", err)
	}
	for _, r := range v.Rules {
		if r.Rule == m.Rule {
			return r.Outcome, ""
		}
	}
	return "", "(no spec of the rule ran)"
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}
