package spec

import (
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

func TestApplyExpectations(t *testing.T) {
	verdict := func() *Verdict {
		return &Verdict{Rules: []RuleResult{
			{Rule: "ORD-01", Outcome: OutcomePass},
			{Rule: "SHD-02", Outcome: OutcomeHang},
			{Rule: "SHD-09", Outcome: OutcomeNonStrict},
		}}
	}
	e := &Expectations{Source: "x.json", Rules: map[string]Expected{"SHD-02": {OutcomeHang, "SEMANTICS SHD-02"}}}
	v := verdict()
	applyExpectations(v, e)
	if !v.Conformant || v.Unexpected != 0 || !v.Rules[1].AsExpected || v.Expectations != "x.json" {
		t.Fatalf("as expected: %+v", v)
	}
	// A deviation that went away makes the file out of date.
	e.Rules["ORD-01"] = Expected{OutcomeFail, "SEMANTICS ORD-01"}
	v = verdict()
	applyExpectations(v, e)
	if v.Conformant || v.Unexpected != 1 || v.Rules[0].AsExpected {
		t.Fatalf("an expected FAIL that passed: %+v", v)
	}
	// An unforeseen FAIL is unexpected.
	v = verdict()
	v.Rules[0].Outcome = OutcomeFail
	applyExpectations(v, &Expectations{Source: "y.json", Rules: map[string]Expected{"SHD-02": {OutcomeHang, "w"}}})
	if v.Conformant || v.Unexpected != 1 {
		t.Fatalf("an unforeseen FAIL: %+v", v)
	}
}
