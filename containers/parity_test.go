package containers

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/spec"
)

// isolatedOnly are the rules whose specs read the harness's own network
// namespace instead of the session's: NET-05 dials the server with
// net.Dial, NET-03 reads /proc/net/tcp for TIME_WAIT. With the servers in
// a namespace of their own (NetworkIsolated) they differ from the process
// tier by construction; with NetworkHost they do not.
var isolatedOnly = []string{"NET-03", "NET-05"}

// TestParity runs the whole suite against container targets and against
// the process tier, each in a process of its own, and compares the
// outcome of every rule. Several minutes: make containers-parity.
//
//	SOCKSPEC_PARITY=1                  run it
//	PARITY_TARGETS="reference cpython:3.11"  the container targets
//	PARITY_NETWORK=host                compare with the host's namespace
//	PARITY_BASELINE=DIR                DIR/<process target>/report.json of
//	                                   an earlier process-tier run, instead
//	                                   of running it here
func TestParity(t *testing.T) {
	if os.Getenv("SOCKSPEC_PARITY") == "" {
		t.Skip("the parity runs take minutes: SOCKSPEC_PARITY=1 (make containers-parity)")
	}
	needEngine(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	targets := strings.Fields(os.Getenv("PARITY_TARGETS"))
	if len(targets) == 0 {
		targets = []string{"reference", "cpython:3.11"}
	}
	network := os.Getenv("PARITY_NETWORK")
	if network == "" {
		network = NetworkIsolated
	}
	dir := t.TempDir()
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			processTarget := target
			if target == "reference" {
				processTarget = "reference-process"
			}
			baseline := filepath.Join(os.Getenv("PARITY_BASELINE"), strings.ReplaceAll(processTarget, ":", "-"), "report.json")
			if os.Getenv("PARITY_BASELINE") == "" {
				baseline = filepath.Join(dir, "process-"+processTarget, "report.json")
				suite(t, root, "./cmd/sockspec", "run", "--target", processTarget, "--expectations", "none", "--report-dir", filepath.Dir(baseline))
			}
			ours := filepath.Join(dir, "container-"+target, "report.json")
			suite(t, root, "./containers/cmd/containerrun", "--target", target, "--network", network, "--report-dir", filepath.Dir(ours))
			want, got := readVerdict(t, baseline), readVerdict(t, ours)
			outcomes := map[string]spec.Outcome{}
			for _, r := range want.Rules {
				outcomes[r.Rule] = r.Outcome
			}
			for _, r := range got.Rules {
				w, ok := outcomes[r.Rule]
				if !ok || w == r.Outcome {
					continue
				}
				if network == NetworkIsolated && slices.Contains(isolatedOnly, r.Rule) {
					t.Logf("%s: %s in containers, %s in the process tier (expected: the spec reads the harness's namespace)", r.Rule, r.Outcome, w)
					continue
				}
				t.Errorf("%s: %s in containers, %s in the process tier", r.Rule, r.Outcome, w)
			}
		})
	}
}

// suite runs one suite in a process of its own (Ginkgo runs one suite per
// process); a non-conformant verdict is its exit status 1, not an error.
func suite(t *testing.T, root, pkg string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run", pkg}, args...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() > 1) {
		t.Fatalf("%s %v: %v\n%s", pkg, args, err, tailOf(string(out)))
	}
}

func readVerdict(t *testing.T, file string) spec.Verdict {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v spec.Verdict
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

func tailOf(s string) string {
	const keep = 3000
	if len(s) > keep {
		return "…" + s[len(s)-keep:]
	}
	return s
}
