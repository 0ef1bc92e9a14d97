package htmlreport

import (
	"encoding/json"
	"time"

	"github.com/sockspec/sockspec/spec/rules"
)

// hostile is a message a target could make the harness report: if the
// page did not escape it, it would end the page's script and run its own.
const hostile = `</script><script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">`

const refHooks = "server_bind server_activate handle_request{ get_request verify_request process_request{ finish_request{ setup handle finish }finish_request shutdown_request{ close_request }shutdown_request }process_request }handle_request server_close"

// fixtureRuns is three runs as their report.json say: the reference (every
// rule PASS, hook orders kept), a CPython with expected deviations and one
// unexpected FAIL whose message is hostile, and a mutant that judged the
// ORD rules only.
func fixtureRuns() []Run {
	ref := newRun("reference", "go1.26.0", "reports/reference")
	ref.Verdict, ref.Conformant = "CONFORMANT", true
	py := newRun("cpython:3.11", "3.11.7", "reports/3.11")
	py.Verdict, py.Expectations, py.Unexpected = "NOT AS EXPECTED", "adapters/cpython/expect/cpython-3.11.json", 1
	mut := newRun("mutant:ord03-verify-ignored", "go1.26.0", "reports/mutant")
	mut.Verdict = "NOT CONFORMANT"
	for _, r := range rules.All() {
		ref.add(passing(r))
		rr := passing(r)
		switch r.ID {
		case "ORD-03":
			rr = failing(r, py.Target, "FAIL", "unexpected", "", hostile)
			rr.Specs[0].Hooks = "server_bind server_activate handle_request{ get_request verify_request process_request{ finish_request{ setup handle finish }finish_request }process_request }handle_request server_close"
		case "SHD-02":
			rr = failing(r, py.Target, "HANG", "expected", "SEMANTICS SHD-02, edge case E1: shutdown() from the serving thread waits for a loop that cannot stop", "HANG: shutdown() did not return within 2s")
		case "ERR-05":
			rr = failing(r, py.Target, "NON-STRICT", "expected", "a SHOULD rule: NON-STRICT does not make the run fail", "Expected shutdown_request to be called")
		case "NET-10":
			rr.Outcome, rr.Specs[0].Outcome = "N/A", "N/A"
			rr.Specs[0].Message, rr.Specs[0].Hooks = "N/A: cpython lacks unix_stream", ""
		}
		py.add(rr)
		if r.Area == "ORD" {
			m := passing(r)
			if r.ID == "ORD-03" {
				m = failing(r, mut.Target, "FAIL", "unexpected", "", "process_request was called")
			}
			mut.add(m)
		}
	}
	return []Run{ref, py, mut}
}

func newRun(target, version, source string) Run {
	r := Run{Source: source, Target: target, Version: version, Seed: 7, Counts: map[string]int{},
		Started: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Duration: 20 * time.Second}
	r.Sockspec.Version, r.Sockspec.Go = "(devel)", "go1.26.0"
	r.Machine.Hostname, r.Machine.Kernel, r.Machine.Arch = "ci-runner", "Linux 6.1.0", "x86_64"
	return r
}

func (r *Run) add(rr RuleResult) {
	r.Rules = append(r.Rules, rr)
	r.Counts[rr.Outcome]++
}

func passing(r rules.Rule) RuleResult {
	return RuleResult{Rule: r.ID, Level: string(r.Level), Title: r.Title, Outcome: "PASS", Disposition: "pass",
		Specs: []Spec{{Name: r.ID + ": holds", Outcome: "PASS", Duration: time.Millisecond, Disposition: "pass", Hooks: refHooks}}}
}

func failing(r rules.Rule, target, outcome, disposition, reason, message string) RuleResult {
	rr := passing(r)
	rr.Outcome, rr.Disposition, rr.Reason = outcome, disposition, reason
	if disposition == "expected" {
		rr.Expected = &struct {
			Outcome string `json:"outcome"`
			Why     string `json:"why"`
		}{outcome, reason}
	}
	s := &rr.Specs[0]
	s.Outcome, s.Disposition, s.Reason, s.Message = outcome, disposition, reason, message
	s.Location = "spec/order.go:38"
	s.Timeline = []Moment{
		{At: 0, Kind: "proc", What: "started: 3 fds, 1 thread"},
		{At: 2 * time.Millisecond, Kind: "client", What: "sent " + message},
		{At: 3 * time.Millisecond, Kind: "hook", What: "verify_request return -> False"},
	}
	s.Faults = []json.RawMessage{json.RawMessage(`{"what":"accept","errno":"EMFILE"}`)}
	s.Replay = "sockspec run --target " + target + " --focus '^" + r.ID + ": holds$' --seed 7 -v"
	return rr
}
