package spec

import (
	"context"
	"strings"
	"testing"
	"time"

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
