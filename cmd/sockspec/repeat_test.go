package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec"
)

func TestWithoutFlags(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"--target", "reference", "--repeat", "3"}, []string{"--target", "reference"}},
		{[]string{"-repeat=3", "--report-dir=x", "-v"}, []string{"-v"}},
		{[]string{"case", "--report-dir", "d", "--seed", "4"}, []string{"case", "--seed", "4"}},
		{[]string{"--focus", "x", "--", "--repeat", "2"}, []string{"--focus", "x", "--", "--repeat", "2"}},
	} {
		if got := withoutFlags(c.in, "repeat", "report-dir"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("withoutFlags(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A rule whose outcome differs between the runs that reported is named
// with the runs of each outcome; a run without a report is left out and a
// rule missing from a run is "not run" there.
func TestChangedRules(t *testing.T) {
	verdict := func(outcomes ...string) *spec.Verdict {
		v := &spec.Verdict{}
		for i := 0; i < len(outcomes); i += 2 {
			v.Rules = append(v.Rules, spec.RuleResult{Rule: outcomes[i], Outcome: spec.Outcome(outcomes[i+1])})
		}
		return v
	}
	runs := []childRun{
		{Verdict: verdict("EIN-04", "HANG", "ORD-01", "PASS", "SHD-02", "HANG")},
		{Verdict: verdict("EIN-04", "PASS", "ORD-01", "PASS", "SHD-02", "HANG")},
		{Status: 2, Error: "no report"},
		{Verdict: verdict("EIN-04", "HANG", "SHD-02", "HANG")},
	}
	changed, judged := changedRules(runs)
	if judged != 3 {
		t.Errorf("judged %d runs, want 3", judged)
	}
	want := []changedRule{
		{Rule: "EIN-04", Runs: map[spec.Outcome][]int{"HANG": {1, 4}, "PASS": {2}}},
		{Rule: "ORD-01", Runs: map[spec.Outcome][]int{"PASS": {1, 2}, "not run": {4}}},
	}
	if !reflect.DeepEqual(changed, want) {
		t.Fatalf("changed = %+v, want %+v", changed, want)
	}
	var b bytes.Buffer
	writeChanged(&b, changed)
	for _, line := range []string{"EIN-04  HANG in runs 1, 4 · PASS in run 2", "ORD-01  PASS in runs 1, 2 · not run in run 4"} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("the table lacks %q:\n%s", line, b.String())
		}
	}
}

// run --repeat runs the suite in a process per run, each with a seed and
// a report directory of its own, and exits as the worst run did.
func TestRepeatedRuns(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		target string
		status int
		counts string
	}{
		{"reference", 0, "PASS 1 · FAIL 0"},
		{"mutant:ord03-verify-ignored", 1, "PASS 0 · FAIL 1"},
	} {
		t.Run(c.target, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary(t), "run", "--repeat", "2", "--target", c.target, "--label-filter", "rule:ORD-03", "--report-dir", dir)
			cmd.WaitDelay = time.Second
			out, _ := cmd.CombinedOutput()
			if got := cmd.ProcessState.ExitCode(); got != c.status {
				t.Fatalf("exit status %d, want %d; output:\n%s", got, c.status, out)
			}
			for _, want := range []string{"run 1/2: exit " + string(rune('0'+c.status)), "run 2/2:", c.counts, "every rule had the same outcome in the 2 runs"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("the output lacks %q:\n%s", want, out)
				}
			}
			seeds := map[int64]bool{}
			for _, run := range []string{"run-1", "run-2"} {
				b, err := os.ReadFile(filepath.Join(dir, run, "report.json"))
				if err != nil {
					t.Fatal(err)
				}
				var v spec.Verdict
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatal(err)
				}
				seeds[v.Seed] = true
				if _, err := os.Stat(filepath.Join(dir, run, childOutput)); err != nil {
					t.Errorf("the run's output was not kept: %v", err)
				}
			}
			if len(seeds) != 2 {
				t.Errorf("both runs had the seed %v: each must get its own", seeds)
			}
		})
	}
}

// Interrupting a repeated run passes the interrupt on to the run under
// way, which stops its adapter, and starts no other run.
func TestRepeatedRunInterrupted(t *testing.T) {
	t.Parallel()
	path := lingeringAdapter(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, binary(t), "run", "--repeat", "3", "--target", "process:"+path, "--label-filter", "rule:ORD-03", "--report-dir", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	// Not an adapter that a harness starts to read its hello: the one of
	// the first run's session, once that run's suite has begun.
	interruptOnceRunning(t, cmd, path, func(adapter procfs.Stat, _ int) bool {
		b, _ := os.ReadFile(filepath.Join(dir, "run-1", childOutput))
		return adapter.PPID != cmd.Process.Pid && bytes.Contains(b, []byte("sockspec: the BaseServer contract"))
	})
	cmd.Wait()
	if got := cmd.ProcessState.ExitCode(); got != 2 {
		t.Errorf("an interrupted repeated run exited %d, want 2; output:\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "interrupted after 1 of 3 runs") {
		t.Errorf("the output does not say the runs were interrupted:\n%s", out.String())
	}
	child, err := os.ReadFile(filepath.Join(dir, "run-1", childOutput))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(child, []byte("Interrupted")) {
		t.Errorf("the run under way was not interrupted; its output:\n%s", child)
	}
	if _, err := os.Stat(filepath.Join(dir, "run-2")); err == nil {
		t.Error("a second run started after the interrupt")
	}
	expectGone(t, path)
}

// A bad flag value is refused once, before any run starts.
func TestRepeatedRunsCheckFlagsFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "run", "--repeat", "2", "--expectations", filepath.Join(dir, "missing.json"), "--report-dir", dir)
	cmd.WaitDelay = time.Second
	out, _ := cmd.CombinedOutput()
	if got := cmd.ProcessState.ExitCode(); got != 2 || !strings.Contains(string(out), "--expectations") {
		t.Errorf("exit status %d, want 2 with a word on --expectations; output:\n%s", got, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "run-1")); err == nil {
		t.Error("a run started despite the bad flag")
	}
}

// lingeringAdapter is a copy of the hostile adapter that never answers,
// made to stay the shell that /proc shows running its path: at the end of
// its input the original becomes a sleep, which /proc no longer shows so,
// and an interrupt test could not find it.
func lingeringAdapter(t *testing.T) string {
	t.Helper()
	path := hostileCopy(t, "never-answers.sh")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte("exec sleep"), []byte("sleep"), 1), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
