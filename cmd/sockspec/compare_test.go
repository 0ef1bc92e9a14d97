package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/spec"
)

// saveVerdict writes a report.json of the given rule outcomes into a new
// directory.
func saveVerdict(t *testing.T, target, network string, outcomes map[string]spec.Outcome) string {
	t.Helper()
	v := spec.Verdict{Target: target, Network: network}
	for id, o := range outcomes {
		v.Rules = append(v.Rules, spec.RuleResult{Rule: id, Outcome: o})
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "report.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReportCompare(t *testing.T) {
	a := saveVerdict(t, "cpython", "", map[string]spec.Outcome{"ORD-01": spec.OutcomePass, "SHD-02": spec.OutcomeHang, "NET-11": spec.OutcomePass})
	same := saveVerdict(t, "cpython", "", map[string]spec.Outcome{"ORD-01": spec.OutcomePass, "SHD-02": spec.OutcomeHang, "NET-11": spec.OutcomePass})
	other := saveVerdict(t, "cpython", "lan", map[string]spec.Outcome{"ORD-01": spec.OutcomePass, "SHD-02": spec.OutcomeHang, "NET-11": spec.OutcomeNA, "ORD-03": spec.OutcomePass})

	var out, errs bytes.Buffer
	if code := run([]string{"report", "compare", a, same}, &out, &errs); code != 0 || !strings.Contains(out.String(), "the 3 rules have the same outcomes") {
		t.Fatalf("the same outcomes: exit %d\n%s%s", code, out.String(), errs.String())
	}
	out.Reset()
	if code := run([]string{"report", "compare", a, other}, &out, &errs); code != 1 {
		t.Fatalf("different outcomes: exit %d, want 1\n%s", code, out.String())
	}
	for _, want := range []string{"CPYTHON VIA LAN", "NET-11  PASS", "N/A", "ORD-03  not run", "2 rules differ"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the comparison lacks %q:\n%s", want, out.String())
		}
	}
	errs.Reset()
	if code := run([]string{"report", "compare", a, t.TempDir()}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "report.json") {
		t.Errorf("a directory without a report: exit %d, stderr %q", code, errs.String())
	}
	if code := run([]string{"report", "compare", a}, &out, &errs); code != 2 {
		t.Errorf("one directory: exit %d, want 2", code)
	}
}
