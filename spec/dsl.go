package spec

import (
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/sockspec/sockspec/spec/driver"
	"github.com/sockspec/sockspec/spec/rules"
)

// Prefixes of the messages of the specs that end HANG, ERROR or N/A:
// what users read. The outcome itself travels as a specEnd.
const (
	hangPrefix  = "HANG: "
	errorPrefix = "ERROR: "
	naPrefix    = "N/A: "
)

// endEntry is the report entry that records a specEnd.
const endEntry = "outcome"

// specEnd is how a spec ended when it ended HANG, ERROR or N/A, recorded
// as data just before the spec fails or is skipped; Judge reads it back
// for the spec whose failure has that message. The message is the
// failure's, prefix included.
type specEnd struct {
	Outcome Outcome `json:"outcome"`
	Message string  `json:"message"`
}

// endAs records the outcome of the spec that now fails or is skipped with
// message.
func endAs(o Outcome, message string) {
	AddReportEntry(endEntry, specEnd{Outcome: o, Message: message}, ReportEntryVisibilityNever)
}

// SpecBound is every spec's deadline. Commands have shorter bounds of their
// own, so a spec that reaches it has hung somewhere no command noticed.
const SpecBound = 30 * time.Second

// Rule declares a spec of the rule id: an It labelled "rule:ID" with the
// suite's deadline, N/A when the target lacks a capability the rule needs.
// The text says what this spec checks of the rule; decorators (Label,
// Serial…) may follow it.
func Rule(id, text string, args ...any) bool {
	r, ok := rules.Lookup(id)
	if !ok {
		panic(fmt.Sprintf("spec: Rule(%q): no such rule in spec/rules", id))
	}
	noteSpec(id)
	var body func(SpecContext)
	var decorations []any
	for _, a := range args {
		if f, ok := a.(func(SpecContext)); ok {
			body = f
			continue
		}
		decorations = append(decorations, a)
	}
	if body == nil {
		panic(fmt.Sprintf("spec: Rule(%q, %q) has no func(SpecContext) body", id, text))
	}
	decorations = append(decorations, Label("rule:"+id), SpecTimeout(SpecBound))
	return It(id+": "+text, append(decorations, func(ctx SpecContext) {
		requireCapabilities(r)
		body(ctx)
	})...)
}

// RuleLabel labels a spec written without Rule (a table) as a spec of
// rule id; the body must call RequireRule(id).
func RuleLabel(id string) Labels {
	if _, ok := rules.Lookup(id); !ok {
		panic(fmt.Sprintf("spec: RuleLabel(%q): no such rule in spec/rules", id))
	}
	noteSpec(id)
	return Label("rule:" + id)
}

// requireRule makes a spec of rule id N/A when the target lacks what the
// rule needs.
func requireRule(id string) {
	r, _ := rules.Lookup(id)
	requireCapabilities(r)
}

// requireCapabilities skips (N/A) a spec whose rule needs what the target
// lacks.
func requireCapabilities(r rules.Rule) {
	info := TargetInfo()
	var missing []string
	for _, n := range r.Needs {
		if !info.Capabilities.Has(n) {
			missing = append(missing, n)
		}
	}
	if len(r.Families) > 0 {
		any := false
		for _, f := range r.Families {
			any = any || info.Capabilities.Has(f)
		}
		if !any {
			missing = append(missing, strings.Join(r.Families, "|"))
		}
	}
	if len(missing) > 0 {
		skipNA(fmt.Sprintf("%s lacks %s", info.Name, strings.Join(missing, ", ")))
	}
}

// NA ends a spec as not applicable to the target, with the reason.
func NA(reason string) {
	msg := naPrefix + reason
	endAs(OutcomeNA, msg)
	Skip(msg)
}

// skipNA is NA for the suite's own checks of what a target has; the
// report locates the skip at the check (its caller), not here.
func skipNA(reason string) {
	msg := naPrefix + reason
	endAs(OutcomeNA, msg)
	Skip(msg, 1)
}

// Hang ends the spec as HANG: the target stopped making progress.
func Hang(what string) {
	GinkgoHelper()
	msg := hangPrefix + what
	endAs(OutcomeHang, msg)
	Fail(msg)
}

// HarnessError ends the spec as ERROR: the harness or the adapter broke,
// which says nothing of the rule.
func HarnessError(format string, args ...any) {
	GinkgoHelper()
	msg := errorPrefix + fmt.Sprintf(format, args...)
	endAs(OutcomeError, msg)
	Fail(msg)
}

var (
	specsMu   sync.Mutex
	specRules = map[string]int{}
)

func noteSpec(id string) {
	specsMu.Lock()
	defer specsMu.Unlock()
	specRules[id]++
}

// SpecsPerRule counts the specs declared for each rule.
func SpecsPerRule() map[string]int {
	specsMu.Lock()
	defer specsMu.Unlock()
	out := make(map[string]int, len(specRules))
	for k, v := range specRules {
		out[k] = v
	}
	return out
}

// Matrix is one server kind of a matrix.
type Matrix struct {
	Family   driver.Family
	Dispatch driver.Dispatch
}

func (m Matrix) String() string { return fmt.Sprintf("%s/%s", m.Family, m.Dispatch) }

// Config is the matrix point's ServerConfig, to be completed by the spec.
func (m Matrix) Config() driver.ServerConfig {
	return driver.ServerConfig{Family: m.Family, Dispatch: m.Dispatch}
}

// ForEachServer declares body once per family × dispatch of the given sets
// (all of them when nil), as a DescribeTableSubtree.
func ForEachServer(text string, families []driver.Family, dispatches []driver.Dispatch, body func(m Matrix)) bool {
	if families == nil {
		families = driver.Families
	}
	if dispatches == nil {
		dispatches = driver.Dispatches
	}
	var entries []any
	for _, f := range families {
		for _, d := range dispatches {
			m := Matrix{Family: f, Dispatch: d}
			entries = append(entries, Entry(m.String(), m))
		}
	}
	return DescribeTableSubtree(text, append([]any{body}, entries...)...)
}

// Streams and the other family sets name the families matrices use.
var (
	Streams   = []driver.Family{driver.TCP, driver.UnixStream}
	Datagrams = []driver.Family{driver.UDP, driver.UnixDgram}
)
