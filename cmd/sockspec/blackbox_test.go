package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/adapters/cpython"
)

// verdictOf runs the suite with args and returns each rule's outcome from
// the JSON report, and the first failure message of each rule that has one.
func verdictOf(t *testing.T, args ...string) (outcome, why map[string]string) {
	t.Helper()
	dir := t.TempDir()
	code, stdout, stderr := runSockspecBound(t, 3*time.Minute, append([]string{"run", "--report-dir", dir}, args...)...)
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatalf("sockspec %q: status %d, no report: %v\nstdout %s\nstderr %s", args, code, err, stdout, stderr)
	}
	var v struct {
		Rules []struct {
			Rule    string `json:"rule"`
			Outcome string `json:"outcome"`
			Specs   []struct {
				Name    string `json:"name"`
				Message string `json:"message"`
			} `json:"specs"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	outcome, why = map[string]string{}, map[string]string{}
	for _, r := range v.Rules {
		outcome[r.Rule] = r.Outcome
		for _, s := range r.Specs {
			if s.Message != "" && why[r.Rule] == "" {
				why[r.Rule] = s.Name + ": " + s.Message
			}
		}
	}
	return outcome, why
}

// The two classic fork-per-request servers of adapters/blackbox/testdata,
// one that reaps its children from a SIGCHLD handler and one that never
// does, judged as black boxes: the verdicts tell them apart (FRK-08), and
// agree on what they share (the hostile clients).
func TestBlackBoxForkingServers(t *testing.T) {
	t.Parallel()
	pythons := []string{"/usr/bin/python3"}
	if p, err := cpython.Find("2.7"); err == nil {
		pythons = append(pythons, p)
	}
	testdata, err := filepath.Abs("../../adapters/blackbox/testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, python := range pythons {
		if _, err := exec.LookPath(python); err != nil {
			t.Logf("%s: %v", python, err)
			continue
		}
		judge := func(script string) map[string]string {
			v, _ := verdictOf(t, "--target", "exec:"+python+" -B "+filepath.Join(testdata, script), "--dispatch", "forking")
			return v
		}
		reaper, noreap := judge("fork_reaper.py"), judge("fork_noreap.py")
		if reaper["FRK-08"] != "PASS" || noreap["FRK-08"] != "FAIL" {
			t.Errorf("%s: FRK-08 is %s for the reaping server and %s for the one that never reaps; want PASS and FAIL", python, reaper["FRK-08"], noreap["FRK-08"])
		}
		// Neither catches the OSError of a failed fork: the server dies,
		// where socketserver's handle_error would let it serve on.
		if caps := reaper["FRK-10"]; caps != "N/A" && (caps != "FAIL" || noreap["FRK-10"] != "FAIL") {
			t.Errorf("%s: FRK-10 is %s and %s; want FAIL for both", python, reaper["FRK-10"], noreap["FRK-10"])
		}
		for _, id := range []string{"NET-13", "NET-14", "NET-15", "NET-16"} {
			if reaper[id] != "PASS" || noreap[id] != "PASS" {
				t.Errorf("%s: %s is %s and %s; want PASS for both", python, id, reaper[id], noreap[id])
			}
		}
		// Rules that read the hook trace or call the server's methods
		// cannot be judged from outside.
		for _, id := range []string{"ORD-01", "SHD-01", "TMO-02"} {
			if reaper[id] != "N/A" {
				t.Errorf("%s: %s is %s for a black box; want N/A", python, id, reaper[id])
			}
		}
		t.Logf("%s: reaper %v", python, summary(reaper))
		t.Logf("%s: no reaping %v", python, summary(noreap))
	}
}

// summary lists the rules that were judged, with their outcomes.
func summary(v map[string]string) string {
	var b strings.Builder
	for id, o := range v {
		if o != "N/A" {
			b.WriteString(id + "=" + o + " ")
		}
	}
	return b.String()
}
