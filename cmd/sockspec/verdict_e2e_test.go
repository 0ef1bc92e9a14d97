package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"
)

// A target that cannot start stops the run before the suite, in one line
// that names the cause and shows no Go syntax.
func TestBinaryTargetThatCannotStart(t *testing.T) {
	t.Parallel()
	for target, cause := range map[string]string{
		"exec:/no/such/file": "/no/such/file: not found",
		"process:/no/such":   "no such file or directory",
	} {
		code, stdout, stderr := runSockspecBound(t, time.Minute, "run", "--target", target)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, cause) {
			t.Errorf("%s: status %d, stderr %q; want 2 and one line with %q", target, code, stderr, cause)
		}
		if strings.Contains(stderr, "{Family:") || strings.Contains(stdout, "{Family:") || strings.Contains(stdout, "CONFORMANT") {
			t.Errorf("%s: stdout %q, stderr %q: no suite should have run", target, stdout, stderr)
		}
	}
}

// A focus that chooses no spec judges nothing: no verdict, status 2.
func TestBinaryFocusThatChoosesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := runSockspec(t, "run", "--focus", "no spec says this", "--report-dir", dir)
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `"no spec says this"`) {
		t.Errorf("status %d, stderr %q; want 2 and one line naming the focus", code, stderr)
	}
	if strings.Contains(stdout, "CONFORMANT") {
		t.Errorf("stdout %q gives a verdict", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
		t.Errorf("a run that judged nothing wrote report.json")
	}
}

// The reports of a run name the sockspec that judged it, and say the
// verdict; --strict is recorded and kept in replay commands.
func TestBinaryReportsNameTheBuild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := runSockspecBound(t, time.Minute, "run", "--label-filter", "rule:ORD-03", "--strict", "--report-dir", dir)
	if code != 0 {
		t.Fatalf("status %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Verdict  string `json:"verdict"`
		Strict   bool   `json:"strict"`
		Sockspec struct {
			Version string `json:"version"`
			Go      string `json:"go"`
		} `json:"sockspec"`
		Rules []struct {
			Disposition string `json:"disposition"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Verdict != "CONFORMANT" || !v.Strict || v.Sockspec.Version == "" || !strings.HasPrefix(v.Sockspec.Go, "go") ||
		len(v.Rules) != 1 || v.Rules[0].Disposition != "pass" {
		t.Errorf("report.json: %s", b)
	}
	if !strings.Contains(stdout, "CONFORMANT (--strict)") {
		t.Errorf("the summary does not say --strict:\n%s", stdout)
	}
	x, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var j reporters.JUnitTestSuites
	if err := xml.Unmarshal(x, &j); err != nil || len(j.TestSuites) != 1 {
		t.Fatalf("junit.xml: %v\n%s", err, x)
	}
	props := j.TestSuites[0].Properties
	if props.WithName("sockspec_version") != v.Sockspec.Version || props.WithName("go_version") != v.Sockspec.Go || j.Failures != 0 {
		t.Errorf("junit.xml: properties %+v, %d failures", props, j.Failures)
	}
}

// matrix exits 1 when one of its targets does not conform.
func TestBinaryMatrixStatus(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	code, stdout, stderr := runSockspecBound(t, 2*time.Minute, "matrix", "--targets", "reference,mutant:ord03-verify-ignored",
		"--label-filter", "rule:ORD-03", "--out", out)
	if code != 1 {
		t.Errorf("status %d, want 1 (the mutant does not conform)\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "matrix.md")); err != nil {
		t.Errorf("no matrix.md: %v", err)
	}
}
