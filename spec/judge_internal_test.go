package spec

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/sockspec/sockspec/spec/driver"
)

// namedTarget is a target that only has a name: Judge reads no more.
type namedTarget struct{ name string }

func (t namedTarget) Info() driver.Info { return driver.Info{Name: t.name, Version: "1"} }
func (namedTarget) Start(context.Context, driver.ServerConfig) (driver.Session, error) {
	return nil, driver.ErrNoReply
}
func (namedTarget) Close() error { return nil }

// specReport is a spec of rule id that ended in state with message, and
// the specEnd entries it recorded.
func specReport(id, text string, state types.SpecState, message string, ends ...specEnd) types.SpecReport {
	s := types.SpecReport{
		LeafNodeType:   types.NodeTypeIt,
		LeafNodeText:   id + ": " + text,
		LeafNodeLabels: []string{"rule:" + id},
		State:          state,
		RunTime:        time.Millisecond,
		Failure:        types.Failure{Message: message},
	}
	for _, e := range ends {
		s.ReportEntries = append(s.ReportEntries, types.ReportEntry{Name: endEntry, Value: types.WrapEntryValue(e)})
	}
	return s
}

// oneReport is a run's report: SHD-02 hangs, ORD-01 passes, ORD-03 is N/A.
func oneReport() types.Report {
	return types.Report{
		SuiteConfig: types.SuiteConfig{RandomSeed: 7},
		SpecReports: types.SpecReports{
			specReport("ORD-01", "holds", types.SpecStatePassed, ""),
			specReport("SHD-02", "shutdown from the loop", types.SpecStateFailed, "HANG: shutdown()", specEnd{OutcomeHang, "HANG: shutdown()"}),
			specReport("ORD-03", "verify", types.SpecStateSkipped, "N/A: x lacks trace", specEnd{OutcomeNA, "N/A: x lacks trace"}),
		},
	}
}

// Two configurations judge one report apart: each verdict has its own
// target, expectations and replay commands.
func TestTwoConfigsJudgeApart(t *testing.T) {
	a := Config{Target: namedTarget{"a"}, TargetArgs: "--target process:./a"}
	b := Config{Target: namedTarget{"b"}, TargetArgs: "--target cpython:3.11",
		Expectations: &Expectations{Source: "b.json", Rules: map[string]Expected{"SHD-02": {OutcomeHang, "SEMANTICS SHD-02"}}}}
	va, vb := Judge(oneReport(), a), Judge(oneReport(), b)
	if va.Target != "a" || va.Conformant || va.Expectations != "" || va.Unexpected != 0 {
		t.Errorf("a: target %s, conformant %v, expectations %q, unexpected %d; want a, false, none, 0", va.Target, va.Conformant, va.Expectations, va.Unexpected)
	}
	if vb.Target != "b" || !vb.Conformant || vb.Expectations != "b.json" {
		t.Errorf("b: target %s, conformant %v, expectations %q; want b, true, b.json", vb.Target, vb.Conformant, vb.Expectations)
	}
	replay := func(v *Verdict) string {
		for _, r := range v.Rules {
			if r.Rule == "SHD-02" {
				return r.Specs[0].Replay
			}
		}
		return ""
	}
	if got := replay(va); !strings.HasPrefix(got, "sockspec run --target process:./a --focus ") || !strings.HasSuffix(got, " --seed 7 -v") {
		t.Errorf("a's replay: %q", got)
	}
	if got := replay(vb); !strings.HasPrefix(got, "sockspec run --target cpython:3.11 --focus ") {
		t.Errorf("b's replay: %q", got)
	}
	// A judged verdict is not changed by judging another.
	if va.Rules[1].AsExpected || va.Rules[1].Expected != nil {
		t.Errorf("a's SHD-02 was judged by b's expectations: %+v", va.Rules[1])
	}
}

// A spec's outcome is the specEnd recorded for the failure it ended with,
// not what its message looks like.
func TestOutcomeIsRecordedNotParsed(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    types.SpecReport
		want Outcome
		ran  bool
	}{
		{"a recorded HANG", specReport("ORD-01", "x", types.SpecStateFailed, "HANG: serve_forever", specEnd{OutcomeHang, "HANG: serve_forever"}), OutcomeHang, true},
		{"a recorded ERROR", specReport("ORD-01", "x", types.SpecStateFailed, "ERROR: adapter", specEnd{OutcomeError, "ERROR: adapter"}), OutcomeError, true},
		{"a recorded N/A", specReport("ORD-01", "x", types.SpecStateSkipped, "N/A: no udp", specEnd{OutcomeNA, "N/A: no udp"}), OutcomeNA, true},
		{"a failure that only reads like a HANG", specReport("ORD-01", "x", types.SpecStateFailed, "HANG: said the server"), OutcomeFail, true},
		{"a skip that only reads like N/A", specReport("ORD-01", "x", types.SpecStateSkipped, "N/A: said the spec"), "", false},
		{"an ERROR recorded after the failure", specReport("ORD-01", "x", types.SpecStateFailed, "Expected 1 to be 2", specEnd{OutcomeError, "ERROR: cleanup"}), OutcomeFail, true},
		{"a timeout", specReport("ORD-01", "x", types.SpecStateTimedout, "A spec timeout occurred"), OutcomeHang, true},
	} {
		out, ran := specOutcome(tc.s, "MUST")
		if out != tc.want || ran != tc.ran {
			t.Errorf("%s: %q, ran %v; want %q, %v", tc.name, out, ran, tc.want, tc.ran)
		}
	}
}

// reportWithAFailure is oneReport with ORD-02 failing too, a rule no
// expectations foresee.
func reportWithAFailure() types.Report {
	r := oneReport()
	r.SpecReports = append(r.SpecReports, specReport("ORD-02", "order", types.SpecStateFailed, "Expected 1 to be 2"))
	return r
}

// junitFile writes v's JUnit file and reads it back.
func junitFile(t *testing.T, v *Verdict) reporters.JUnitTestSuites {
	t.Helper()
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := WriteJUnit(path, v); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var suites reporters.JUnitTestSuites
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, b)
	}
	if len(suites.TestSuites) != 1 {
		t.Fatalf("%d test suites, want 1", len(suites.TestSuites))
	}
	return suites
}

// caseOf finds the test case of rule id.
func caseOf(t *testing.T, s reporters.JUnitTestSuites, id string) reporters.JUnitTestCase {
	t.Helper()
	for _, c := range s.TestSuites[0].TestCases {
		if c.Classname == id {
			return c
		}
	}
	t.Fatalf("no test case of %s", id)
	return reporters.JUnitTestCase{}
}

// The JUnit file agrees with the verdict: a run AS EXPECTED has no
// failure, its expected deviation passes with the reason, its N/A is
// skipped; the same deviation without expectations fails.
func TestJUnitAgreesWithTheVerdict(t *testing.T) {
	shd02 := &Expectations{Source: "b.json", Rules: map[string]Expected{"SHD-02": {OutcomeHang, "SEMANTICS SHD-02"}}}
	asExpected := Judge(oneReport(), Config{Target: namedTarget{"b"}, Expectations: shd02})
	if !asExpected.Conformant {
		t.Fatalf("the run is not as expected: %s", asExpected.Tally())
	}
	j := junitFile(t, asExpected)
	if j.Failures != 0 || j.Errors != 0 || j.Tests != 3 {
		t.Errorf("a run AS EXPECTED: %d tests, %d failures, %d errors; want 3, 0, 0", j.Tests, j.Failures, j.Errors)
	}
	hang := caseOf(t, j, "SHD-02")
	if hang.Failure != nil || hang.Error != nil || hang.Properties.WithName("disposition") != "expected" ||
		!strings.Contains(hang.Properties.WithName("reason"), "SEMANTICS SHD-02") || !strings.Contains(hang.SystemOut, "SEMANTICS SHD-02") {
		t.Errorf("the expected HANG: %+v", hang)
	}
	if na := caseOf(t, j, "ORD-03"); na.Skipped == nil || na.Failure != nil {
		t.Errorf("the N/A spec is not skipped: %+v", na)
	}
	props := j.TestSuites[0].Properties
	if props.WithName("verdict") != "AS EXPECTED" || props.WithName("sockspec_version") == "" || !strings.HasPrefix(props.WithName("go_version"), "go") {
		t.Errorf("suite properties: %+v", props)
	}

	raw := Judge(oneReport(), Config{Target: namedTarget{"a"}})
	if j := junitFile(t, raw); j.Failures != 1 || caseOf(t, j, "SHD-02").Failure == nil {
		t.Errorf("without expectations the HANG fails: %d failures, SHD-02 %+v", j.Failures, caseOf(t, j, "SHD-02"))
	}
	strict := Judge(oneReport(), Config{Target: namedTarget{"b"}, Expectations: shd02, Strict: true})
	if j := junitFile(t, strict); strict.Conformant || j.Failures != 1 || caseOf(t, j, "SHD-02").Failure == nil {
		t.Errorf("--strict: conformant %v, %d failures; want the expected HANG to fail", strict.Conformant, j.Failures)
	}
	unforeseen := Judge(reportWithAFailure(), Config{Target: namedTarget{"b"}, Expectations: shd02})
	j = junitFile(t, unforeseen)
	if fail := caseOf(t, j, "ORD-02"); j.Failures != 1 || fail.Failure == nil || fail.Failure.Message != "Expected 1 to be 2" {
		t.Errorf("the unforeseen FAIL: %d failures, %+v", j.Failures, fail)
	}
}

// report.json tells, per rule and per spec, whether the outcome passes,
// is expected (and why) or is unexpected, and which sockspec judged it.
func TestJSONReportSaysTheDisposition(t *testing.T) {
	shd02 := &Expectations{Source: "b.json", Rules: map[string]Expected{"SHD-02": {OutcomeHang, "SEMANTICS SHD-02"}}}
	b, err := json.Marshal(Judge(reportWithAFailure(), Config{Target: namedTarget{"b"}, Expectations: shd02}))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Verdict  string `json:"verdict"`
		Sockspec struct {
			Version string `json:"version"`
			Go      string `json:"go"`
		} `json:"sockspec"`
		Rules []struct {
			Rule        string `json:"rule"`
			Disposition string `json:"disposition"`
			Reason      string `json:"reason"`
			Specs       []struct {
				Disposition string `json:"disposition"`
				Reason      string `json:"reason"`
			} `json:"specs"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Verdict != "NOT AS EXPECTED" || v.Sockspec.Version == "" || v.Sockspec.Go == "" {
		t.Errorf("verdict %q, sockspec %+v", v.Verdict, v.Sockspec)
	}
	want := map[string]string{"ORD-01": "pass", "ORD-02": "unexpected", "ORD-03": "pass", "SHD-02": "expected"}
	for _, r := range v.Rules {
		if r.Disposition != want[r.Rule] || len(r.Specs) != 1 || r.Specs[0].Disposition != want[r.Rule] {
			t.Errorf("%s: disposition %q, specs %+v; want %q", r.Rule, r.Disposition, r.Specs, want[r.Rule])
		}
		if r.Rule == "SHD-02" && !strings.Contains(r.Specs[0].Reason, "SEMANTICS SHD-02") {
			t.Errorf("SHD-02's spec gives no reason: %q", r.Specs[0].Reason)
		}
	}
}
