package spec_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/spec"
)

// Merging the verdicts of disjoint rules gives what one run of them all
// gives: the rules in order, the counts added, conformant only when every
// part is, the span of the parts.
func TestMerge(t *testing.T) {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	part := func(seed int64, at time.Duration, conformant bool, rules ...spec.RuleResult) *spec.Verdict {
		v := &spec.Verdict{Target: "CPython", Version: "3.11.7", Seed: seed, Conformant: conformant, Expectations: "e.json",
			Started: start.Add(at), Duration: 10 * time.Second, Counts: map[spec.Outcome]int{}, Rules: rules}
		for _, r := range rules {
			v.Counts[r.Outcome]++
		}
		return v
	}
	a := part(7, 0, true, spec.RuleResult{Rule: "SHD-02", Outcome: spec.OutcomeHang, Disposition: spec.DispositionExpected})
	b := part(7, 5*time.Second, false, spec.RuleResult{Rule: "ORD-01", Outcome: spec.OutcomeFail, Disposition: spec.DispositionUnexpected})
	b.Unexpected, b.HygieneFindings, b.HarnessFailures = 1, 2, []string{"BeforeSuite: broke"}
	v, err := spec.Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Rules) != 2 || v.Rules[0].Rule != "ORD-01" || v.Rules[1].Rule != "SHD-02" {
		t.Errorf("rules %+v, want ORD-01 then SHD-02", v.Rules)
	}
	if v.Counts[spec.OutcomeHang] != 1 || v.Counts[spec.OutcomeFail] != 1 || v.Conformant || v.Unexpected != 1 || v.HygieneFindings != 2 || len(v.HarnessFailures) != 1 {
		t.Errorf("merged %+v", v)
	}
	if v.Seed != 7 || !v.Started.Equal(start) || v.Duration != 15*time.Second || v.Summary != "NOT AS EXPECTED" {
		t.Errorf("seed %d, started %v, duration %v, verdict %q", v.Seed, v.Started, v.Duration, v.Summary)
	}
	if v, _ := spec.Merge(a, part(8, 0, true, spec.RuleResult{Rule: "ORD-02", Outcome: spec.OutcomePass})); v.Seed != 0 || !v.Conformant || v.Summary != "AS EXPECTED" {
		t.Errorf("parts of two seeds: seed %d, verdict %q; want 0 and AS EXPECTED", v.Seed, v.Summary)
	}

	other := part(7, 0, true, spec.RuleResult{Rule: "ORD-02", Outcome: spec.OutcomePass})
	other.Version = "3.12.1"
	strict := part(7, 0, true, spec.RuleResult{Rule: "ORD-02", Outcome: spec.OutcomePass})
	strict.Strict = true
	for _, c := range []struct {
		parts []*spec.Verdict
		says  string
	}{
		{[]*spec.Verdict{a, other}, "target version (3.11.7 and 3.12.1)"},
		{[]*spec.Verdict{a, strict}, "--strict"},
		{[]*spec.Verdict{a, b, a}, "SHD-02 was judged twice"},
		{nil, "no verdict"},
	} {
		if _, err := spec.Merge(c.parts...); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Merge of %d parts: %v, want an error saying %q", len(c.parts), err, c.says)
		}
	}
}
