package htmlreport

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/sockspec/sockspec/spec/rules"
)

// outcomes are the outcomes in the order the legend and counts show them.
var outcomes = []string{"PASS", "FAIL", "NON-STRICT", "N/A", "HANG", "ERROR"}

// outcomeClass is an outcome's CSS class ("" for a rule the run did not judge).
func outcomeClass(o string) string {
	switch o {
	case "PASS":
		return "pass"
	case "FAIL":
		return "fail"
	case "NON-STRICT":
		return "nonstrict"
	case "N/A":
		return "na"
	case "HANG":
		return "hang"
	case "ERROR":
		return "error"
	}
	return "none"
}

// page is what the template shows.
type page struct {
	Title     string
	Semantics string // the relative address of docs/SEMANTICS.md
	Columns   []column
	Areas     []string
	Rows      []row
	Legend    []legendItem
	Reference string // the column the hook orders are compared with, "" for none
}

type legendItem struct{ Outcome, Class, Meaning string }

// column is one run: a target's header and counts.
type column struct {
	Index        int
	Name         string // target and version
	Source       string
	Verdict      string
	VerdictClass string
	Counts       []count
	Started      string
	Duration     string
	Sockspec     string
	Machine      string
	Seed         int64
	Expectations string
	Strict       bool
	Unexpected   int
	Harness      []string
	Hygiene      int
	targetArgs   string // how replay commands name the target
}

type count struct {
	Outcome, Class string
	N              int
}

// row is one rule across the runs.
type row struct {
	ID, Area, Level, Title, Text, Why string
	Sources                           []source
	Unexpected                        bool // some cell's outcome is unexpected
	Cells                             []cell
}

type source struct{ Text, Href string }

// cell is one rule in one run.
type cell struct {
	DOMID       string
	Column      *column
	Outcome     string // "" when the run did not judge the rule
	Label       string
	Class       string
	Disposition string // pass, expected, unexpected
	Reason      string
	Expected    string // the outcome the expectations list, if any
	ExpectedWhy string
	Replay      string
	Specs       []specView
}

type specView struct {
	Name, Outcome, Class, Duration     string
	Message, Location, Hygiene, Replay string
	Disposition, Reason                string
	Faults                             []string
	Timeline                           []momentView
	Hooks                              string
	Diff                               []DiffLine
	DiffNote                           string
}

type momentView struct{ At, Kind, What string }

// buildPage assembles the page of runs; semantics is the address of
// docs/SEMANTICS.md relative to the page.
func buildPage(runs []Run, semantics string) *page {
	p := &page{Semantics: semantics}
	for _, o := range outcomes {
		p.Legend = append(p.Legend, legendItem{o, outcomeClass(o), outcomeMeaning[o]})
	}
	ref := referenceRun(runs)
	var names []string
	for i, r := range runs {
		c := column{
			Index: i, Name: strings.TrimSpace(r.Target + " " + r.Version), Source: r.Source,
			Verdict: r.Verdict, VerdictClass: "bad", Seed: r.Seed, Expectations: r.Expectations,
			Strict: r.Strict, Unexpected: r.Unexpected, Harness: r.HarnessFailures, Hygiene: r.HygieneFindings,
			Sockspec: sockspecOf(r), Machine: machineOf(r), targetArgs: targetArgs(r),
		}
		if r.Conformant {
			c.VerdictClass = "good"
		}
		if c.Verdict == "" {
			c.Verdict = "NO VERDICT"
		}
		if !r.Started.IsZero() {
			c.Started = r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		c.Duration = r.Duration.Round(time.Millisecond).String()
		for _, o := range outcomes {
			c.Counts = append(c.Counts, count{o, outcomeClass(o), r.Counts[o]})
		}
		p.Columns = append(p.Columns, c)
		names = append(names, c.Name)
	}
	if ref >= 0 && len(runs) > 1 {
		p.Reference = p.Columns[ref].Name
	}
	p.Title = "sockspec report: " + strings.Join(names, ", ")

	for _, id := range ruleIDs(runs) {
		rw := row{ID: id, Area: areaOf(id)}
		if r, ok := rules.Lookup(id); ok {
			rw.Level, rw.Title, rw.Text, rw.Why = string(r.Level), r.Title, r.Text, r.Why
			for _, s := range r.Sources {
				rw.Sources = append(rw.Sources, source{s, sourceHref(s, semantics)})
			}
		}
		for i, r := range runs {
			c := cell{DOMID: fmt.Sprintf("d-%s-%d", id, i), Column: &p.Columns[i], Label: "not run", Class: "none"}
			if rr, ok := findRule(r, id); ok {
				if rw.Title == "" { // a rule this build's registry does not know
					rw.Level, rw.Title = rr.Level, rr.Title
				}
				c.fill(rr, p.Columns[i].targetArgs)
				if ref >= 0 && i != ref {
					c.compare(runs[ref])
				}
			}
			rw.Unexpected = rw.Unexpected || c.Disposition == "unexpected"
			rw.Cells = append(rw.Cells, c)
		}
		p.Rows = append(p.Rows, rw)
	}
	seen := map[string]bool{}
	for _, rw := range p.Rows {
		if !seen[rw.Area] {
			seen[rw.Area] = true
			p.Areas = append(p.Areas, rw.Area)
		}
	}
	return p
}

var outcomeMeaning = map[string]string{
	"PASS":       "every spec of the rule passed",
	"FAIL":       "a MUST rule is broken",
	"NON-STRICT": "a SHOULD rule is broken",
	"N/A":        "the target lacks a capability the rule needs",
	"HANG":       "the target stopped answering within a bound",
	"ERROR":      "the harness or the adapter broke; the rule was not judged",
}

// fill sets the cell from the run's result for its rule.
func (c *cell) fill(rr RuleResult, targetArgs string) {
	c.Outcome, c.Label, c.Class = rr.Outcome, rr.Outcome, outcomeClass(rr.Outcome)
	c.Disposition, c.Reason = rr.Disposition, rr.Reason
	if rr.Expected != nil {
		c.Expected, c.ExpectedWhy = rr.Expected.Outcome, rr.Expected.Why
	}
	c.Replay = fmt.Sprintf("sockspec run %s --label-filter rule:%s -v", targetArgs, rr.Rule)
	for _, s := range rr.Specs {
		v := specView{
			Name: s.Name, Outcome: s.Outcome, Class: outcomeClass(s.Outcome),
			Duration: s.Duration.Round(time.Microsecond).String(),
			Message:  s.Message, Location: s.Location, Hygiene: s.Hygiene, Replay: s.Replay,
			Disposition: s.Disposition, Reason: s.Reason, Hooks: s.Hooks,
		}
		for _, f := range s.Faults {
			v.Faults = append(v.Faults, string(f))
		}
		for _, m := range s.Timeline {
			v.Timeline = append(v.Timeline, momentView{fmt.Sprintf("%.3fs", m.At.Seconds()), m.Kind, m.What})
		}
		c.Specs = append(c.Specs, v)
	}
}

// compare diffs each spec's hook order against the reference run's same
// spec.
func (c *cell) compare(ref Run) {
	refHooks := map[string]string{}
	for _, rr := range ref.Rules {
		for _, s := range rr.Specs {
			refHooks[s.Name] = s.Hooks
		}
	}
	for i := range c.Specs {
		s := &c.Specs[i]
		want, ok := refHooks[s.Name]
		switch {
		case !ok:
			s.DiffNote = "the reference run did not run this spec"
		case want == "" && s.Hooks == "":
			s.DiffNote = "neither run traced hooks in this spec"
		case want == "":
			s.DiffNote = "the reference run kept no hook order for this spec"
		case s.Hooks == "":
			s.DiffNote = "this run kept no hook order for this spec"
		case want == s.Hooks:
			s.DiffNote = "the same hook order as the reference"
		default:
			var cut bool
			s.Diff, cut = diffHooks(want, s.Hooks)
			s.DiffNote = "hook order against the reference: − the reference only, + this target only"
			if cut {
				s.DiffNote += fmt.Sprintf(" (the first %d hooks of each)", maxDiffTokens)
			}
		}
	}
}

// referenceRun is the index of the run of the Go reference, or -1.
func referenceRun(runs []Run) int {
	for i, r := range runs {
		if r.Target == "reference" {
			return i
		}
	}
	return -1
}

// ruleIDs lists the rules any run judged, in the registry's order; rules
// the registry does not know come last.
func ruleIDs(runs []Run) []string {
	judged := map[string]bool{}
	for _, r := range runs {
		for _, rr := range r.Rules {
			judged[rr.Rule] = true
		}
	}
	var ids []string
	for _, r := range rules.All() {
		if judged[r.ID] {
			ids = append(ids, r.ID)
			delete(judged, r.ID)
		}
	}
	var unknown []string
	for id := range judged {
		unknown = append(unknown, id)
	}
	sort.Strings(unknown)
	return append(ids, unknown...)
}

func findRule(r Run, id string) (RuleResult, bool) {
	for _, rr := range r.Rules {
		if rr.Rule == id {
			return rr, true
		}
	}
	return RuleResult{}, false
}

// areaOf is a rule ID's area: the prefix before the dash.
func areaOf(id string) string {
	area, _, _ := strings.Cut(id, "-")
	return area
}

var (
	semanticsEntry = regexp.MustCompile(`^(?:SEMANTICS|edge case) ([A-Z]{1,3}-?[0-9]+)$`)
	bpoIssue       = regexp.MustCompile(`^bpo-([0-9]+)$`)
	ghIssue        = regexp.MustCompile(`^gh-([0-9]+)$`)
)

// sourceHref links a rule's source where it has an address: an entry of
// docs/SEMANTICS.md (relative), a CPython issue.
func sourceHref(s, semantics string) string {
	if m := semanticsEntry.FindStringSubmatch(s); m != nil {
		return semantics + "#" + m[1]
	}
	if m := bpoIssue.FindStringSubmatch(s); m != nil {
		return "https://bugs.python.org/issue" + m[1]
	}
	if m := ghIssue.FindStringSubmatch(s); m != nil {
		return "https://github.com/python/cpython/issues/" + m[1]
	}
	return ""
}

func sockspecOf(r Run) string {
	s := "sockspec " + r.Sockspec.Version
	if rev := r.Sockspec.Revision; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " (" + rev
		if r.Sockspec.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return strings.TrimSpace(s + " " + r.Sockspec.Go)
}

func machineOf(r Run) string {
	m := r.Machine
	if m.Hostname == "" && m.Kernel == "" {
		return "not recorded"
	}
	return strings.TrimSpace(m.Hostname + " (" + strings.TrimSpace(m.Kernel+" "+m.Arch) + ")")
}

// targetArgs is how the run's replay commands name the target (the
// arguments before --focus), or --target and the target's name when no
// spec kept a replay command.
func targetArgs(r Run) string {
	for _, rr := range r.Rules {
		for _, s := range rr.Specs {
			if args, _, ok := strings.Cut(strings.TrimPrefix(s.Replay, "sockspec run "), " --focus "); ok && s.Replay != "" {
				return args
			}
		}
	}
	return "--target " + shellQuote(r.Target)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
