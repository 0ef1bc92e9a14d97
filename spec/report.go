package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/sockspec/sockspec/internal/buildinfo"
	"github.com/sockspec/sockspec/internal/hostinfo"
	"github.com/sockspec/sockspec/internal/htmlreport"
	"github.com/sockspec/sockspec/spec/driver"
	"github.com/sockspec/sockspec/spec/rules"
)

// Outcome is a rule's verdict for a target.
type Outcome string

const (
	OutcomePass      Outcome = "PASS"
	OutcomeFail      Outcome = "FAIL"
	OutcomeNonStrict Outcome = "NON-STRICT"
	OutcomeNA        Outcome = "N/A"
	OutcomeHang      Outcome = "HANG"
	OutcomeError     Outcome = "ERROR"
)

// severity orders outcomes: a rule's outcome is the worst of its specs'.
var severity = map[Outcome]int{OutcomeNA: 0, OutcomePass: 1, OutcomeNonStrict: 2, OutcomeFail: 3, OutcomeHang: 4, OutcomeError: 5}

// SpecResult is one spec's outcome.
type SpecResult struct {
	Name     string        `json:"name"`
	Outcome  Outcome       `json:"outcome"`
	Duration time.Duration `json:"duration_ns"`
	Message  string        `json:"message,omitempty"`
	Location string        `json:"location,omitempty"`
	// Hygiene is what the hygiene oracle found the server process left
	// behind (process targets only).
	Hygiene string `json:"hygiene,omitempty"`
	// Faults is the spec's fault script: what it injected, and how.
	Faults []driver.Fault `json:"faults,omitempty"`
	// Timeline is what happened during the spec (kept for the specs that
	// did not pass, and for all under sockspec reproduce).
	Timeline []Moment `json:"timeline,omitempty"`
	// Replay is the command that runs this spec again.
	Replay string `json:"replay,omitempty"`
	// Disposition is what the verdict makes of the outcome: pass,
	// expected (with the Reason it is accepted) or unexpected.
	Disposition Disposition `json:"disposition"`
	Reason      string      `json:"reason,omitempty"`
	// Hooks is the order of the target's hook calls (HookSequence), kept
	// for every traced spec: one line, compared across targets.
	Hooks string `json:"hooks,omitempty"`
}

// RuleResult is one rule's outcome and the specs it comes from.
type RuleResult struct {
	Rule     string        `json:"rule"`
	Level    rules.Level   `json:"level"`
	Title    string        `json:"title"`
	Outcome  Outcome       `json:"outcome"`
	Duration time.Duration `json:"duration_ns"`
	Specs    []SpecResult  `json:"specs"`
	// Expected is the deviation the expectations list for the rule.
	Expected *Expected `json:"expected,omitempty"`
	// AsExpected: the outcome is what the expectations say (PASS, N/A or
	// NON-STRICT for a rule they do not list). Set only with expectations.
	AsExpected bool `json:"as_expected,omitempty"`
	// Disposition is what the verdict makes of the rule's outcome: pass,
	// expected (with the Reason it is accepted) or unexpected (with the
	// Reason, when the expectations or --strict give one).
	Disposition Disposition `json:"disposition"`
	Reason      string      `json:"reason,omitempty"`
}

// Verdict is a whole run's result.
type Verdict struct {
	// Sockspec is the build that judged the run.
	Sockspec buildinfo.Info `json:"sockspec"`
	Target   string         `json:"target"`
	Version  string         `json:"version"`
	// TargetArgs are the command-line arguments that named the target
	// (Config.TargetArgs), so that a later run can judge it again.
	TargetArgs string `json:"target_args,omitempty"`
	Seed       int64  `json:"seed"`
	// Shard, for a run of one shard of the rules, says which.
	Shard      *Shard          `json:"shard,omitempty"`
	Rules      []RuleResult    `json:"rules"`
	Counts     map[Outcome]int `json:"counts"`
	Conformant bool            `json:"conformant"`
	// Summary is the verdict in words, as the summary's last line ends:
	// CONFORMANT, NOT CONFORMANT, AS EXPECTED or NOT AS EXPECTED.
	Summary string `json:"verdict"`
	// Strict: expected deviations and NON-STRICT counted as failures.
	Strict bool `json:"strict,omitempty"`
	// HarnessFailures are failures outside any rule's spec (suite setup).
	HarnessFailures []string      `json:"harness_failures,omitempty"`
	Started         time.Time     `json:"started"`
	Duration        time.Duration `json:"duration_ns"`
	// Expectations names the expectations file the run was judged by.
	Expectations string `json:"expectations,omitempty"`
	// Network names the simulated network the clients reached the target
	// through (Config.Network); empty for a direct connection.
	Network string `json:"network,omitempty"`
	// Unexpected counts, with expectations or --strict, the rules whose
	// outcome the verdict does not accept: the expectations did not
	// foresee it, or --strict refuses it.
	Unexpected int `json:"unexpected,omitempty"`
	// HygieneFindings counts the specs after which the server process held
	// more than it should (zombies, descriptors, threads, a busy CPU).
	HygieneFindings int `json:"hygiene_findings,omitempty"`
	// Machine is where the run was judged.
	Machine hostinfo.Info `json:"machine"`
}

var _ = ReportAfterSuite("sockspec verdict", func(r Report) {
	run := currentRun()
	if run.refuseEmpty && r.PreRunStats.SpecsThatWillRun == 0 {
		// The filters chose nothing: no verdict, no report to mislead.
		current.Lock()
		run.empty = true
		current.Unlock()
		return
	}
	v := Judge(r, run.cfg)
	current.Lock()
	run.verdict = v
	current.Unlock()
	if dir := run.cfg.ReportDir; dir != "" {
		if err := WriteReports(dir, v); err != nil {
			fmt.Fprintf(os.Stderr, "sockspec: %v\n", err)
		}
	}
	WriteSummary(run.cfg.summary(), v)
})

// WriteReports writes v as dir/junit.xml and dir/report.json, making dir
// if need be.
func WriteReports(dir string, v *Verdict) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	var errs []error
	if err := WriteJUnit(filepath.Join(dir, "junit.xml"), v); err != nil {
		errs = append(errs, fmt.Errorf("junit report: %w", err))
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "report.json"), b, 0o644)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("json report: %w", err))
	} else if err := htmlreport.WriteFromJSON(filepath.Join(dir, "report.html"), b); err != nil {
		errs = append(errs, fmt.Errorf("html report: %w", err))
	}
	return errors.Join(errs...)
}

// specOutcome maps a Ginkgo spec report to an outcome; ok is false for a
// spec that did not run (filtered out, pending).
func specOutcome(s types.SpecReport, level rules.Level) (Outcome, bool) {
	end, ended := endOf(s)
	switch s.State {
	case types.SpecStatePassed:
		return OutcomePass, true
	case types.SpecStateSkipped:
		if ended && end.Outcome == OutcomeNA {
			return OutcomeNA, true
		}
		return "", false
	case types.SpecStatePending:
		return "", false
	case types.SpecStateTimedout:
		return OutcomeHang, true
	case types.SpecStateFailed:
		switch {
		case ended && (end.Outcome == OutcomeHang || end.Outcome == OutcomeError):
			return end.Outcome, true
		case level == rules.Should:
			return OutcomeNonStrict, true
		}
		return OutcomeFail, true
	}
	return OutcomeError, true // panicked, interrupted, aborted
}

// endOf finds the specEnd recorded for the failure (or skip) the spec
// ended with: a HANG or ERROR recorded in a cleanup after an ordinary
// failure is not how the spec ended.
func endOf(s types.SpecReport) (specEnd, bool) {
	for _, e := range s.ReportEntries {
		if e.Name != endEntry {
			continue
		}
		end, ok := e.GetRawValue().(specEnd)
		if !ok && json.Unmarshal([]byte(e.Value.AsJSON), &end) != nil {
			continue
		}
		if end.Message == s.Failure.Message {
			return end, true
		}
	}
	return specEnd{}, false
}

// ruleOf finds the rule label of a spec.
func ruleOf(s types.SpecReport) string {
	for _, l := range s.Labels() {
		if id, ok := strings.CutPrefix(l, "rule:"); ok {
			return id
		}
	}
	return ""
}

// Judge turns a Ginkgo report of a run of cfg into per-rule outcomes,
// judged by cfg's expectations.
func Judge(r Report, cfg Config) *Verdict {
	info := cfg.Target.Info()
	v := &Verdict{Sockspec: buildinfo.Read(), Machine: hostinfo.Read(), Strict: cfg.Strict, Target: info.Name, Version: info.Version, TargetArgs: cfg.targetArgs(), Shard: cfg.Shard, Seed: r.SuiteConfig.RandomSeed, Counts: map[Outcome]int{}, Started: r.StartTime, Duration: r.RunTime}
	if cfg.Network != nil {
		v.Network = cfg.Network.Name
	}
	byRule := map[string]*RuleResult{}
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			if s.State.Is(types.SpecStateFailureStates) {
				v.HarnessFailures = append(v.HarnessFailures, fmt.Sprintf("%s %s: %s", s.LeafNodeType, s.LeafNodeText, s.Failure.Message))
			}
			continue
		}
		id := ruleOf(s)
		rule, ok := rules.Lookup(id)
		if !ok {
			continue
		}
		out, ran := specOutcome(s, rule.Level)
		if !ran {
			continue
		}
		rr := byRule[id]
		if rr == nil {
			rr = &RuleResult{Rule: id, Level: rule.Level, Title: rule.Title, Outcome: OutcomeNA}
			byRule[id] = rr
		}
		sr := SpecResult{Name: s.FullText(), Outcome: out, Duration: s.RunTime}
		for _, e := range s.ReportEntries {
			switch e.Name {
			case hygieneEntry:
				sr.Hygiene = e.StringRepresentation()
				v.HygieneFindings++
			case faultsEntry:
				_ = json.Unmarshal([]byte(e.StringRepresentation()), &sr.Faults)
			case timelineEntry:
				_ = json.Unmarshal([]byte(e.StringRepresentation()), &sr.Timeline)
			case hooksEntry:
				sr.Hooks = e.StringRepresentation()
			}
		}
		if out != OutcomePass && out != OutcomeNA || len(sr.Faults) > 0 {
			sr.Replay = replayCommand(cfg.targetArgs(), s.FullText(), r.SuiteConfig.RandomSeed)
		}
		if out != OutcomePass {
			sr.Message = s.Failure.Message
			sr.Location = s.Failure.Location.String()
		}
		rr.Specs = append(rr.Specs, sr)
		rr.Duration += s.RunTime
		if severity[out] > severity[rr.Outcome] {
			rr.Outcome = out
		}
	}
	for _, rr := range byRule {
		v.Rules = append(v.Rules, *rr)
		v.Counts[rr.Outcome]++
	}
	sort.Slice(v.Rules, func(i, j int) bool { return v.Rules[i].Rule < v.Rules[j].Rule })
	v.Rules, v.Conformant, v.Unexpected = assess(v.Rules, v.HarnessFailures, cfg.Expectations, cfg.Strict)
	if cfg.Expectations != nil {
		v.Expectations = cfg.Expectations.Source
	}
	v.Summary = v.words()
	return v
}

// WriteSummary prints the rules that did not pass and the counts.
func WriteSummary(w io.Writer, v *Verdict) {
	noun := "rules"
	if len(v.Rules) == 1 {
		noun = "rule"
	}
	through := ""
	if v.Network != "" {
		through = ", through the " + v.Network + " network"
	}
	fmt.Fprintf(w, "\nsockspec: %s %s — %d %s judged in %v%s\n", v.Target, v.Version, len(v.Rules), noun, v.Duration.Round(time.Millisecond), through)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	shown := 0
	withExpect := v.Expectations != ""
	for _, r := range v.Rules {
		if (r.Outcome == OutcomePass || r.Outcome == OutcomeNA) && r.Expected == nil {
			continue
		}
		if shown == 0 {
			if withExpect {
				fmt.Fprintln(tw, "RULE\tLEVEL\tOUTCOME\tEXPECTED\tTITLE\tFIRST FAILURE / WHY EXPECTED")
			} else {
				fmt.Fprintln(tw, "RULE\tLEVEL\tOUTCOME\tTITLE\tFIRST FAILURE")
			}
		}
		shown++
		first := ""
		for _, s := range r.Specs {
			if s.Outcome == r.Outcome {
				first = firstLine(s.Message)
				break
			}
		}
		if !withExpect {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Rule, r.Level, r.Outcome, r.Title, first)
			continue
		}
		expected := "no"
		switch {
		case r.Expected != nil && r.AsExpected:
			expected = "yes"
			first = firstLine(r.Expected.Why)
		case r.Expected != nil:
			expected = "NO: " + string(r.Expected.Outcome)
		case r.AsExpected:
			expected = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Rule, r.Level, r.Outcome, expected, r.Title, first)
	}
	tw.Flush()
	for _, f := range v.HarnessFailures {
		fmt.Fprintf(w, "harness failure: %s\n", firstLine(f))
	}
	if v.HygieneFindings > 0 {
		fmt.Fprintf(w, "hygiene: after %d specs the server process held more than it should:\n", v.HygieneFindings)
		shown := 0
		for _, r := range v.Rules {
			for _, s := range r.Specs {
				if s.Hygiene == "" {
					continue
				}
				if shown++; shown <= 10 {
					fmt.Fprintf(w, "  %s: %s\n", r.Rule, s.Hygiene)
				}
			}
		}
		if shown > 10 {
			fmt.Fprintf(w, "  … and %d more in report.json\n", shown-10)
		}
	}
	fmt.Fprintln(w, v.Tally())
}

// Tally is the verdict in one line: the count of each outcome, then
// whether the target conforms (or, with expectations, behaves as they say).
func (v *Verdict) Tally() string {
	var parts []string
	for _, o := range []Outcome{OutcomePass, OutcomeFail, OutcomeNonStrict, OutcomeNA, OutcomeHang, OutcomeError} {
		parts = append(parts, fmt.Sprintf("%s %d", o, v.Counts[o]))
	}
	verdict := v.words()
	switch {
	case v.Strict && v.Conformant:
		verdict += " (--strict)"
	case v.Strict:
		verdict += fmt.Sprintf(" (--strict: %d rules are neither PASS nor N/A)", v.Unexpected)
	case v.Expectations != "" && v.Conformant:
		verdict += " by " + v.Expectations
	case v.Expectations != "":
		verdict += fmt.Sprintf(": %d rules differ from %s", v.Unexpected, v.Expectations)
	}
	return strings.Join(parts, " · ") + " — " + verdict
}

// words is the verdict without its counts. Under --strict expectations
// explain but excuse nothing, so the words are those of conformance.
func (v *Verdict) words() string {
	switch {
	case v.Strict && v.Conformant:
		return "CONFORMANT"
	case v.Strict:
		return "NOT CONFORMANT"
	case v.Expectations != "" && v.Conformant:
		return "AS EXPECTED"
	case v.Expectations != "":
		return "NOT AS EXPECTED"
	case v.Conformant:
		return "CONFORMANT"
	}
	return "NOT CONFORMANT"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

// replayCommand is the sockspec command that runs one spec again, with
// targetArgs (the arguments that name the target: its --target and, for
// an exec: target, what it was declared to serve) and the run's seed
// (which also seeds fault schedules).
func replayCommand(targetArgs, fullText string, seed int64) string {
	return fmt.Sprintf("sockspec run %s --focus %s --seed %d -v", targetArgs, ShellQuote("^"+regexp.QuoteMeta(fullText)+"$"), seed)
}

// ShellQuote quotes s for a POSIX shell when it needs it.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
