package spec

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseExpectationsChecksEveryEntry(t *testing.T) {
	good := `{"target":"cpython:3.11","rules":{"SHD-02":{"outcome":"HANG","why":"SEMANTICS SHD-02"}}}`
	e, err := ParseExpectations([]byte(good), "good.json")
	if err != nil || e.Rules["SHD-02"].Outcome != OutcomeHang || e.Source != "good.json" {
		t.Fatalf("%+v, %v", e, err)
	}
	for _, tc := range []struct{ json, want string }{
		{`{"rules":{"XYZ-01":{"outcome":"FAIL","why":"x"}}}`, "XYZ-01 is no rule"},
		{`{"rules":{"ORD-01":{"outcome":"PASS","why":"x"}}}`, `outcome "PASS"`},
		{`{"rules":{"ORD-01":{"outcome":"FAIL"}}}`, "ORD-01: no reason"},
		{`{"rules":{},"colour":1}`, "unknown field"},
	} {
		if _, err := ParseExpectations([]byte(tc.json), "bad.json"); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s: %v; want an error naming the file and %q", tc.json, err, tc.want)
		}
	}
}

func TestAssess(t *testing.T) {
	rule := func(id string, o Outcome) RuleResult { return RuleResult{Rule: id, Outcome: o} }
	shd02Hangs := &Expectations{Source: "x.json", Rules: map[string]Expected{"SHD-02": {OutcomeHang, "SEMANTICS SHD-02"}}}
	for _, tc := range []struct {
		name            string
		rules           []RuleResult
		harness         []string
		e               *Expectations
		conformant      bool
		unexpected      int
		asExpected      []bool // per rule, with expectations
		expectedOutcome []Outcome
	}{
		{name: "no expectations: PASS, N/A and NON-STRICT conform",
			rules:      []RuleResult{rule("ORD-01", OutcomePass), rule("ORD-02", OutcomeNA), rule("SHD-09", OutcomeNonStrict)},
			conformant: true, asExpected: []bool{false, false, false}},
		{name: "no expectations: a FAIL does not conform",
			rules: []RuleResult{rule("ORD-01", OutcomePass), rule("ORD-02", OutcomeFail)}, asExpected: []bool{false, false}},
		{name: "no expectations: a HANG does not conform",
			rules: []RuleResult{rule("SHD-02", OutcomeHang)}, asExpected: []bool{false}},
		{name: "no expectations: an ERROR does not conform",
			rules: []RuleResult{rule("SHD-02", OutcomeError)}, asExpected: []bool{false}},
		{name: "a listed deviation that happened",
			rules: []RuleResult{rule("ORD-01", OutcomePass), rule("SHD-02", OutcomeHang), rule("SHD-09", OutcomeNonStrict)}, e: shd02Hangs,
			conformant: true, asExpected: []bool{true, true, true}, expectedOutcome: []Outcome{"", OutcomeHang, ""}},
		{name: "a listed deviation that went away",
			rules: []RuleResult{rule("ORD-01", OutcomePass), rule("SHD-02", OutcomePass)}, e: shd02Hangs,
			unexpected: 1, asExpected: []bool{true, false}, expectedOutcome: []Outcome{"", OutcomeHang}},
		{name: "a listed deviation with another outcome",
			rules: []RuleResult{rule("SHD-02", OutcomeError)}, e: shd02Hangs,
			unexpected: 1, asExpected: []bool{false}, expectedOutcome: []Outcome{OutcomeHang}},
		{name: "an unlisted FAIL",
			rules: []RuleResult{rule("ORD-01", OutcomeFail), rule("SHD-02", OutcomeHang)}, e: shd02Hangs,
			unexpected: 1, asExpected: []bool{false, true}, expectedOutcome: []Outcome{"", OutcomeHang}},
		{name: "a harness failure, no expectations",
			rules: []RuleResult{rule("ORD-01", OutcomePass)}, harness: []string{"BeforeSuite: broke"}, asExpected: []bool{false}},
		{name: "a harness failure, every rule as expected",
			rules: []RuleResult{rule("SHD-02", OutcomeHang)}, harness: []string{"BeforeSuite: broke"}, e: shd02Hangs,
			asExpected: []bool{true}, expectedOutcome: []Outcome{OutcomeHang}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			given := slices.Clone(tc.rules)
			judged, conformant, unexpected := assess(tc.rules, tc.harness, tc.e)
			if conformant != tc.conformant || unexpected != tc.unexpected {
				t.Errorf("conformant %v, unexpected %d; want %v, %d", conformant, unexpected, tc.conformant, tc.unexpected)
			}
			for i, r := range judged {
				if r.AsExpected != tc.asExpected[i] {
					t.Errorf("%s %s: as expected %v; want %v", r.Rule, r.Outcome, r.AsExpected, tc.asExpected[i])
				}
				var want Outcome
				if tc.expectedOutcome != nil {
					want = tc.expectedOutcome[i]
				}
				if got := r.Expected; (got == nil) != (want == "") || got != nil && got.Outcome != want {
					t.Errorf("%s: expected %+v; want %q", r.Rule, got, want)
				}
			}
			if !reflect.DeepEqual(tc.rules, given) {
				t.Errorf("assess changed the rules it was given: %+v", tc.rules)
			}
		})
	}
}
