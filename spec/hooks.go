package spec

import (
	"fmt"
	"strings"

	"github.com/sockspec/sockspec/spec/driver"
)

// hooksEntry is the report entry of a spec's hook sequence.
const hooksEntry = "hooks"

// baselineTarget names the target whose report keeps the hook order of
// every spec, a passing one included: the Go reference, what the HTML
// report compares another target's hook order with.
const baselineTarget = "reference"

// isBaseline: t is the reference (not a mutant of it).
func isBaseline(t driver.Target) bool {
	return t != nil && t.Info().Name == baselineTarget
}

// HookSequence is the order of a trace's hook calls in one short line,
// which report.json keeps for the specs that did not pass (and, in the
// reference's report, for every spec). Results, times and pids are left out: only the order
// counts. A call that returns before any other event is its hook's name;
// otherwise the call is "name{" and the return "}name". A "!" marks a
// return that raised, "fault" a fault that fired, "|" the start of the
// spec's next server, and "*N" a token repeated N times in a row (a
// serving loop's service_actions).
func HookSequence(sessions ...[]driver.Event) string {
	var tokens []string
	for i, es := range sessions {
		if i > 0 && len(es) > 0 && len(tokens) > 0 {
			tokens = append(tokens, "|")
		}
		tokens = append(tokens, hookTokens(es)...)
	}
	return strings.Join(collapseRepeats(tokens), " ")
}

// hookTokens is the tokens of one session's events.
func hookTokens(es []driver.Event) []string {
	var tokens []string
	for i := 0; i < len(es); i++ {
		e := es[i]
		switch {
		case e.Hook == driver.HookFault:
			tokens = append(tokens, "fault")
		case e.Phase == driver.Call && i+1 < len(es) && returnOf(e, es[i+1]):
			tokens = append(tokens, e.Hook+raised(es[i+1]))
			i++
		case e.Phase == driver.Call:
			tokens = append(tokens, e.Hook+"{")
		default:
			tokens = append(tokens, "}"+e.Hook+raised(e))
		}
	}
	return tokens
}

// returnOf: r is the return of call c, in the same process and thread.
func returnOf(c, r driver.Event) bool {
	return r.Phase == driver.Return && r.Hook == c.Hook && r.PID == c.PID && r.Thread == c.Thread
}

func raised(e driver.Event) string {
	if e.Exception != nil {
		return "!"
	}
	return ""
}

// collapseRepeats writes a run of equal tokens as "token*N".
func collapseRepeats(tokens []string) []string {
	var out []string
	for i := 0; i < len(tokens); {
		j := i + 1
		for j < len(tokens) && tokens[j] == tokens[i] {
			j++
		}
		if n := j - i; n > 1 {
			out = append(out, fmt.Sprintf("%s*%d", tokens[i], n))
		} else {
			out = append(out, tokens[i])
		}
		i = j
	}
	return out
}
