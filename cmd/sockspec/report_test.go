package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// saveReport writes a report.json of target into a new directory.
func saveReport(t *testing.T, target, outcome string) string {
	t.Helper()
	dir := t.TempDir()
	body := `{"target": "` + target + `", "version": "1", "verdict": "CONFORMANT", "conformant": true,
		"rules": [{"rule": "ORD-01", "level": "MUST", "outcome": "` + outcome + `", "disposition": "pass",
		"specs": [{"name": "ORD-01: order", "outcome": "` + outcome + `", "disposition": "pass"}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "report.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Several report directories make one page, a column each; --out may
// follow them.
func TestReportHTML(t *testing.T) {
	ref, other := saveReport(t, "reference", "PASS"), saveReport(t, "cpython:3.11", "N/A")
	out := filepath.Join(t.TempDir(), "page.html")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"report", "html", ref, other, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-detail="d-ORD-01-0"`, `data-detail="d-ORD-01-1"`, "reference 1", "cpython:3.11 1"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if !strings.Contains(stdout.String(), "wrote "+out) {
		t.Errorf("stdout: %q", stdout.String())
	}
}

// A directory without report.json is refused in one line, exit status 2,
// and no page is written.
func TestReportHTMLRefusesDirectoryWithoutReport(t *testing.T) {
	ref, empty := saveReport(t, "reference", "PASS"), t.TempDir()
	out := filepath.Join(t.TempDir(), "page.html")
	var stdout, stderr bytes.Buffer
	code := run([]string{"report", "html", "--out", out, ref, empty}, &stdout, &stderr)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, empty+": no report.json") {
		t.Errorf("stderr is not one line naming the directory: %q", msg)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a page was written")
	}
}

func TestReportRefusesBadUse(t *testing.T) {
	for _, args := range [][]string{{"report"}, {"report", "pdf", "x"}, {"report", "html"}, {"report", "html", "--bogus", "x"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a reason", args, code, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"report", "html", "-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "Usage: sockspec report html") {
		t.Errorf("report html -h: exit %d, %q", code, stdout.String())
	}
}
