package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec"
	"github.com/sockspec/sockspec/spec/rules"
)

// readReport reads dir/report.json.
func readReport(t *testing.T, dir string) *spec.Verdict {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v spec.Verdict
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// judged is what two runs that judge alike share: each rule's outcome and
// disposition, the counts, and whether the run conforms.
type judged struct {
	Rules      map[string]string
	Counts     map[spec.Outcome]int
	Conformant bool
	Verdict    string
}

func judgedOf(v *spec.Verdict) judged {
	j := judged{Rules: map[string]string{}, Counts: v.Counts, Conformant: v.Conformant, Verdict: v.Summary}
	for _, r := range v.Rules {
		j.Rules[r.Rule] = fmt.Sprintf("%s (%s)", r.Outcome, r.Disposition)
	}
	return j
}

// diffJudged names what differs between want and got.
func diffJudged(want, got judged) string {
	var d []string
	for id, o := range want.Rules {
		if got.Rules[id] != o {
			d = append(d, fmt.Sprintf("%s: %s, then %s", id, o, orDash(got.Rules[id])))
		}
	}
	for id, o := range got.Rules {
		if _, ok := want.Rules[id]; !ok {
			d = append(d, fmt.Sprintf("%s: -, then %s", id, o))
		}
	}
	if !reflect.DeepEqual(want.Counts, got.Counts) || want.Conformant != got.Conformant || want.Verdict != got.Verdict {
		d = append(d, fmt.Sprintf("counts %v %s, then %v %s", want.Counts, want.Verdict, got.Counts, got.Verdict))
	}
	return strings.Join(d, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// judgeAsOneRun runs the whole suite against target four ways at once —
// in one process; as two shards merged by 'report merge'; in procs
// processes — and checks that the three verdicts are the same.
func judgeAsOneRun(t *testing.T, target string, procs int, bound time.Duration) {
	dir := t.TempDir()
	type result struct {
		code           int
		stdout, stderr string
	}
	runs := map[string][]string{
		"serial":  {"--procs", "1"},
		"shard-1": {"--procs", "1", "--shard", "1/2"},
		"shard-2": {"--procs", "1", "--shard", "2/2"},
		"procs":   {"--procs", strconv.Itoa(procs)},
	}
	results := map[string]result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, args := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, stdout, stderr := runSockspecBound(t, bound, append([]string{"run", "--target", target, "--report-dir", filepath.Join(dir, name)}, args...)...)
			mu.Lock()
			defer mu.Unlock()
			results[name] = result{code, stdout, stderr}
		}()
	}
	wg.Wait()
	for name, r := range results {
		if _, err := os.Stat(filepath.Join(dir, name, "report.json")); err != nil {
			t.Fatalf("%s: status %d, no report\nstdout %s\nstderr %s", name, r.code, r.stdout, r.stderr)
		}
	}
	code, stdout, stderr := runSockspecBound(t, time.Minute, "report", "merge", "--out", filepath.Join(dir, "merged"),
		filepath.Join(dir, "shard-2"), filepath.Join(dir, "shard-1", "report.json"))
	if code != results["serial"].code {
		t.Errorf("report merge exited %d, the run in one process %d\nstdout %s\nstderr %s", code, results["serial"].code, stdout, stderr)
	}
	if results["procs"].code != results["serial"].code {
		t.Errorf("--procs %d exited %d, the run in one process %d", procs, results["procs"].code, results["serial"].code)
	}
	serial := readReport(t, filepath.Join(dir, "serial"))
	want := judgedOf(serial)
	if len(want.Rules) != len(rules.All()) {
		t.Fatalf("the run in one process judged %d rules", len(want.Rules))
	}
	for _, name := range []string{"merged", "procs"} {
		v := readReport(t, filepath.Join(dir, name))
		if d := diffJudged(want, judgedOf(v)); d != "" {
			t.Errorf("%s differs from the run in one process: %s", name, d)
		}
		if v.Shard != nil || v.Target != serial.Target || v.Version != serial.Version || v.TargetArgs != serial.TargetArgs {
			t.Errorf("%s: shard %v, target %q %q %q; want no shard and %q %q %q", name, v.Shard, v.Target, v.Version, v.TargetArgs, serial.Target, serial.Version, serial.TargetArgs)
		}
		if _, err := os.Stat(filepath.Join(dir, name, "junit.xml")); err != nil {
			t.Errorf("%s: no junit.xml: %v", name, err)
		}
	}
	if !strings.Contains(stdout, serial.Summary) || !strings.Contains(results["procs"].stdout, serial.Summary) {
		t.Errorf("a summary lacks the verdict %q:\nmerge: %s\nprocs: %s", serial.Summary, stdout, results["procs"].stdout)
	}
	// What a CI collects under the report directory is the merged run's.
	junits, _ := filepath.Glob(filepath.Join(dir, "procs", "*", "*", "junit.xml"))
	if len(junits) > 0 {
		t.Errorf("the processes' own junit.xml files were kept: %v", junits)
	}
}

// Two shards of the reference merged, and the reference in two processes,
// judge as one run in one process does: rule by rule, the counts, the
// verdict and the exit status.
func TestShardsJudgeAsOneRunReference(t *testing.T) {
	t.Parallel()
	judgeAsOneRun(t, "reference", 2, 3*time.Minute)
}

// The same for CPython 3.11, whose specs mostly wait: in one process, as
// two shards, and in three processes.
func TestShardsJudgeAsOneRunCPython(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the suite against CPython takes minutes")
	}
	t.Parallel()
	testkit.Python(t, "3.11")
	judgeAsOneRun(t, "cpython:3.11", 3, 10*time.Minute)
}

// Shards that do not make one run are refused in one line; an empty shard
// reports so, and merges with the others.
func TestReportMerge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	filter := "rule:ORD-01 || rule:ORD-03"
	for name, args := range map[string][]string{
		"1of2":        {"--shard", "1/2"},
		"2of2":        {"--shard", "2/2"},
		"1of3":        {"--shard", "1/3"},
		"mutant-2of2": {"--shard", "2/2", "--target", "mutant:ord03-verify-ignored"},
		"whole":       nil,
	} {
		code, stdout, stderr := runSockspec(t, append([]string{"run", "--label-filter", filter, "--report-dir", filepath.Join(dir, name)}, args...)...)
		if code > 1 {
			t.Fatalf("%s: status %d\nstdout %s\nstderr %s", name, code, stdout, stderr)
		}
	}
	at := func(names ...string) []string {
		var paths []string
		for _, n := range names {
			paths = append(paths, filepath.Join(dir, n))
		}
		return paths
	}
	for _, c := range []struct {
		shards []string
		says   string
	}{
		{at("1of2"), "shard 2/2 missing"},
		{at("1of2", "1of2"), "shard 1/2 is given twice"},
		{at("1of2", "1of3"), "different splits"},
		{at("1of2", "mutant-2of2"), "differ in target"},
		{at("whole"), "not a shard's report"},
		{at("none"), "no such file"},
		{nil, "name the report directories"},
	} {
		code, stdout, stderr := runSockspec(t, append([]string{"report", "merge"}, c.shards...)...)
		if code != 2 || !strings.Contains(stderr, c.says) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("merge of %v: status %d, stderr %q; want 2 and one line saying %q (stdout %s)", c.shards, code, stderr, c.says, stdout)
		}
	}
	code, stdout, _ := runSockspec(t, "report", "merge", "--out", filepath.Join(dir, "merged"), filepath.Join(dir, "1of2"), filepath.Join(dir, "2of2"))
	if code != 0 || !strings.Contains(stdout, "2 rules judged") {
		t.Errorf("merge of both shards: status %d, stdout %s", code, stdout)
	}
	if d := diffJudged(judgedOf(readReport(t, filepath.Join(dir, "whole"))), judgedOf(readReport(t, filepath.Join(dir, "merged")))); d != "" {
		t.Errorf("the merged shards differ from the whole run: %s", d)
	}
	if code, _, _ := runSockspec(t, "report", "merge", filepath.Join(dir, "1of2"), filepath.Join(dir, "2of2"), "--out", "x"); code != 2 {
		t.Errorf("a flag after the directories: status %d, want 2 (it names a report)", code)
	}

	// One rule in two shards: the second has nothing to run, says so and
	// exits 0, and its report completes the merge.
	code, stdout, stderr := runSockspec(t, "run", "--label-filter", "rule:ORD-03", "--shard", "2/2", "--report-dir", filepath.Join(dir, "empty"))
	if code != 0 || !strings.Contains(stdout, "shard 2/2 has nothing to run") {
		t.Errorf("an empty shard: status %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if v := readReport(t, filepath.Join(dir, "empty")); v.Shard == nil || v.Shard.Index != 2 || len(v.Rules) != 0 || !v.Conformant {
		t.Errorf("the empty shard's report: %+v", v)
	}
	runSockspec(t, "run", "--label-filter", "rule:ORD-03", "--shard", "1/2", "--report-dir", filepath.Join(dir, "full"))
	if code, stdout, stderr := runSockspec(t, "report", "merge", filepath.Join(dir, "full"), filepath.Join(dir, "empty")); code != 0 || !strings.Contains(stdout, "1 rule judged") {
		t.Errorf("merge with the empty shard: status %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// A shard the mutant fails makes the merge fail as the run would.
	runSockspec(t, "run", "--label-filter", filter, "--shard", "1/2", "--target", "mutant:ord03-verify-ignored", "--report-dir", filepath.Join(dir, "mutant-1of2"))
	if code, stdout, _ := runSockspec(t, "report", "merge", filepath.Join(dir, "mutant-1of2"), filepath.Join(dir, "mutant-2of2")); code != 1 || !strings.Contains(stdout, "NOT CONFORMANT") {
		t.Errorf("merge of the mutant's shards: status %d, want 1\n%s", code, stdout)
	}
}

// --rerun-failed runs again the rules a saved run did not accept, with its
// target and seed; flags given override them; nothing to rerun is no error.
func TestRerunFailed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved")
	code, _, stderr := runSockspec(t, "run", "--target", "mutant:ord03-verify-ignored", "--label-filter", "rule:ORD-01 || rule:ORD-03", "--report-dir", saved)
	if code != 1 {
		t.Fatalf("the mutant's run: status %d, want 1: %s", code, stderr)
	}
	code, stdout, stderr := runSockspec(t, "run", "--rerun-failed", saved, "--report-dir", filepath.Join(dir, "again"))
	if code != 1 {
		t.Errorf("the rerun: status %d, want 1\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	first, again := readReport(t, saved), readReport(t, filepath.Join(dir, "again"))
	if len(again.Rules) != 1 || again.Rules[0].Rule != "ORD-03" || again.Target != first.Target || again.Seed != first.Seed {
		t.Errorf("the rerun judged %v of %s with seed %d; want ORD-03 alone of %s with seed %d", judgedOf(again).Rules, again.Target, again.Seed, first.Target, first.Seed)
	}
	if code, stdout, stderr := runSockspec(t, "run", "--rerun-failed", filepath.Join(saved, "report.json"), "--target", "reference", "--seed", "5", "--report-dir", filepath.Join(dir, "fixed")); code != 0 {
		t.Errorf("the rerun against the reference: status %d\nstdout %s\nstderr %s", code, stdout, stderr)
	} else if v := readReport(t, filepath.Join(dir, "fixed")); len(v.Rules) != 1 || v.Seed != 5 || v.Target != "reference" {
		t.Errorf("the rerun against the reference judged %v of %s, seed %d", judgedOf(v).Rules, v.Target, v.Seed)
	}
	code, stdout, _ = runSockspec(t, "run", "--rerun-failed", filepath.Join(dir, "fixed"))
	if code != 0 || !strings.Contains(stdout, "nothing to rerun") {
		t.Errorf("a run with nothing to rerun: status %d, stdout %s", code, stdout)
	}
	code, stdout, _ = runSockspec(t, "run", "--rerun-failed", saved, "--label-filter", "rule:ORD-01")
	if code != 0 || !strings.Contains(stdout, "nothing to rerun") {
		t.Errorf("a filter that leaves none of the failed rules: status %d, stdout %s", code, stdout)
	}
	code, _, stderr = runSockspec(t, "run", "--rerun-failed", filepath.Join(dir, "nowhere"))
	if code != 2 || strings.Count(stderr, "\n") != 1 {
		t.Errorf("a rerun of no report: status %d, stderr %q; want 2 and one line", code, stderr)
	}
}

// Interrupting a run in several processes stops every one of them, each
// killing its adapters, and the run exits 2 saying so.
func TestParallelRunInterrupted(t *testing.T) {
	t.Parallel()
	path := lingeringAdapter(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, binary(t), "run", "--procs", "2", "--target", "process:"+path, "--label-filter", "rule:ORD-01 || rule:ORD-03", "--report-dir", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	// Once each process's suite has begun and its session's adapter runs.
	begun := func(k int) bool {
		b, _ := os.ReadFile(filepath.Join(dir, "processes", strconv.Itoa(k), childOutput))
		return bytes.Contains(b, []byte("sockspec: the BaseServer contract"))
	}
	interruptOnceRunning(t, cmd, path, func(adapter procfs.Stat, _ int) bool {
		if !begun(1) || !begun(2) {
			return false
		}
		sessions := map[int]bool{}
		for _, p := range processesRunning(path) {
			pid, _ := strconv.Atoi(p)
			if st, err := procfs.ReadStat(pid); err == nil && st.PPID != cmd.Process.Pid {
				sessions[st.PPID] = true
			}
		}
		return len(sessions) == 2
	})
	var children []int
	for pid, st := range procfs.Processes() {
		if st.PPID == cmd.Process.Pid {
			children = append(children, pid)
		}
	}
	cmd.Wait()
	if got := cmd.ProcessState.ExitCode(); got != 2 || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("an interrupted run in 2 processes: exit %d, want 2 and a word that it was interrupted; output:\n%s", got, out.String())
	}
	for k := 1; k <= 2; k++ {
		b, _ := os.ReadFile(filepath.Join(dir, "processes", strconv.Itoa(k), childOutput))
		if !bytes.Contains(b, []byte("Interrupted")) {
			t.Errorf("process %d was not interrupted; its output:\n%s", k, b)
		}
	}
	expectGone(t, path)
	for _, pid := range children {
		if _, err := procfs.ReadStat(pid); err == nil {
			t.Errorf("process %d of the run outlived it", pid)
		}
	}
}
