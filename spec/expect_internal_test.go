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
		strict          bool
		conformant      bool
		unexpected      int
		asExpected      []bool // per rule, with expectations
		expectedOutcome []Outcome
		dispositions    []Disposition // per rule
	}{
		{name: "no expectations: PASS, N/A and NON-STRICT conform",
			rules:      []RuleResult{rule("ORD-01", OutcomePass), rule("ORD-02", OutcomeNA), rule("SHD-09", OutcomeNonStrict)},
			conformant: true, asExpected: []bool{false, false, false},
			dispositions: []Disposition{DispositionPass, DispositionPass, DispositionExpected}},
		{name: "no expectations: a FAIL does not conform",
			rules: []RuleResult{rule("ORD-01", OutcomePass), rule("ORD-02", OutcomeFail)}, asExpected: []bool{false, false},
			dispositions: []Disposition{DispositionPass, DispositionUnexpected}},
		{name: "no expectations: a HANG does not conform",
			rules: []RuleResult{rule("SHD-02", OutcomeHang)}, asExpected: []bool{false},
			dispositions: []Disposition{DispositionUnexpected}},
		{name: "no expectations: an ERROR does not conform",
			rules: []RuleResult{rule("SHD-02", OutcomeError)}, asExpected: []bool{false},
			dispositions: []Disposition{DispositionUnexpected}},
		{name: "a listed deviation that happened",
			rules: []RuleResult{rule("ORD-01", OutcomePass), rule("SHD-02", OutcomeHang), rule("SHD-09", OutcomeNonStrict)}, e: shd02Hangs,
			conformant: true, asExpected: []bool{true, true, true}, expectedOutcome: []Outcome{"", OutcomeHang, ""},
			dispositions: []Disposition{DispositionPass, DispositionExpected, DispositionExpected}},
		{name: "a listed deviation that went away",
			rules: []RuleResult{rule("ORD-01", OutcomePass), rule("SHD-02", OutcomePass)}, e: shd02Hangs,
			unexpected: 1, asExpected: []bool{true, false}, expectedOutcome: []Outcome{"", OutcomeHang},
			dispositions: []Disposition{DispositionPass, DispositionUnexpected}},
		{name: "a listed deviation with another outcome",
			rules: []RuleResult{rule("SHD-02", OutcomeError)}, e: shd02Hangs,
			unexpected: 1, asExpected: []bool{false}, expectedOutcome: []Outcome{OutcomeHang},
			dispositions: []Disposition{DispositionUnexpected}},
		{name: "an unlisted FAIL",
			rules: []RuleResult{rule("ORD-01", OutcomeFail), rule("SHD-02", OutcomeHang)}, e: shd02Hangs,
			unexpected: 1, asExpected: []bool{false, true}, expectedOutcome: []Outcome{"", OutcomeHang},
			dispositions: []Disposition{DispositionUnexpected, DispositionExpected}},
		{name: "a harness failure, no expectations",
			rules: []RuleResult{rule("ORD-01", OutcomePass)}, harness: []string{"BeforeSuite: broke"}, asExpected: []bool{false},
			dispositions: []Disposition{DispositionPass}},
		{name: "a harness failure, every rule as expected",
			rules: []RuleResult{rule("SHD-02", OutcomeHang)}, harness: []string{"BeforeSuite: broke"}, e: shd02Hangs,
			asExpected: []bool{true}, expectedOutcome: []Outcome{OutcomeHang},
			dispositions: []Disposition{DispositionExpected}},
		{name: "strict: an expected deviation and a NON-STRICT count",
			rules: []RuleResult{rule("ORD-01", OutcomePass), rule("ORD-02", OutcomeNA), rule("SHD-02", OutcomeHang), rule("SHD-09", OutcomeNonStrict)},
			e:     shd02Hangs, strict: true, unexpected: 2,
			asExpected: []bool{true, true, true, true}, expectedOutcome: []Outcome{"", "", OutcomeHang, ""},
			dispositions: []Disposition{DispositionPass, DispositionPass, DispositionUnexpected, DispositionUnexpected}},
		{name: "strict: a listed deviation that went away conforms",
			rules: []RuleResult{rule("SHD-02", OutcomePass)}, e: shd02Hangs, strict: true, conformant: true,
			asExpected: []bool{false}, expectedOutcome: []Outcome{OutcomeHang},
			dispositions: []Disposition{DispositionPass}},
		{name: "strict without expectations: a NON-STRICT counts",
			rules: []RuleResult{rule("ORD-01", OutcomePass), rule("SHD-09", OutcomeNonStrict)}, strict: true, unexpected: 1,
			asExpected: []bool{false, false}, dispositions: []Disposition{DispositionPass, DispositionUnexpected}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			given := slices.Clone(tc.rules)
			judged, conformant, unexpected := assess(tc.rules, tc.harness, tc.e, tc.strict)
			if conformant != tc.conformant || unexpected != tc.unexpected {
				t.Errorf("conformant %v, unexpected %d; want %v, %d", conformant, unexpected, tc.conformant, tc.unexpected)
			}
			for i, r := range judged {
				if r.Disposition != tc.dispositions[i] {
					t.Errorf("%s %s: disposition %q (%s); want %q", r.Rule, r.Outcome, r.Disposition, r.Reason, tc.dispositions[i])
				}
				if r.Disposition == DispositionExpected && r.Reason == "" {
					t.Errorf("%s %s: expected with no reason", r.Rule, r.Outcome)
				}
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

// A malformed expectations file is located: line and column of the
// fault, as an editor counts them.
func TestParseExpectationsLocatesErrors(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{"{\n  \"rules\": {\n    \"SHD-02\": {\"outcome\": \"HANG\" \"why\": \"x\"}\n  }\n}", "bad.json:3:34: "},
		{"{\n  \"rules\": {\n    \"SHD-02\": {\"outcome\": 5, \"why\": \"x\"}\n  }\n}", "bad.json:3:"},
		{"{\n  \"rules\": {},\n  \"colour\": 1\n}", "bad.json:3:3: "},
		{"{\"rules\": {", "bad.json:1:"},
		{"", "bad.json:1:1: "},
	} {
		_, err := ParseExpectations([]byte(tc.json), "bad.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want an error with %q", tc.json, err, tc.want)
		}
	}
}
