package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sockspec/sockspec/spec/rules"
)

// Expectations are the deviations a target is known to have, each with its
// reason: CPython 3.11 deadlocks on a shutdown from the serving thread
// (SHD-02 HANG), 2.7 hands SystemExit to handle_error (ORD-06 FAIL). With
// them a run judges whether the target behaves as documented; without
// them it shows the raw differences.
type Expectations struct {
	// Target names what the file is for: cpython:3.11.
	Target string `json:"target"`
	// Source says where the file came from (a path, "embedded").
	Source string `json:"-"`
	// Rules maps a rule ID to its expected outcome.
	Rules map[string]Expected `json:"rules"`
}

// Expected is one expected deviation.
type Expected struct {
	Outcome Outcome `json:"outcome"`
	// Why cites the catalogue entry or the CPython issue.
	Why string `json:"why"`
}

// ParseExpectations reads an expectations file and checks it against the
// registry: known rules, outcomes other than PASS, a reason for each.
func ParseExpectations(b []byte, source string) (*Expectations, error) {
	var e Expectations
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("expectations %s: %w", source, err)
	}
	e.Source = source
	var bad []string
	for id, x := range e.Rules {
		if _, ok := rules.Lookup(id); !ok {
			bad = append(bad, fmt.Sprintf("%s is no rule", id))
		}
		switch x.Outcome {
		case OutcomeFail, OutcomeNonStrict, OutcomeNA, OutcomeHang, OutcomeError:
		default:
			bad = append(bad, fmt.Sprintf("%s: outcome %q: want FAIL, NON-STRICT, N/A, HANG or ERROR (a rule that passes needs no entry)", id, x.Outcome))
		}
		if strings.TrimSpace(x.Why) == "" {
			bad = append(bad, fmt.Sprintf("%s: no reason: cite the catalogue entry or the issue", id))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, fmt.Errorf("expectations %s: %s", source, strings.Join(bad, "; "))
	}
	return &e, nil
}

// assess decides what a run's rule outcomes mean, and changes nothing it
// is given. Without expectations the target conforms when no rule is
// FAIL, HANG or ERROR. With them, a rule is as expected when its outcome
// is the one they list, or PASS, N/A or NON-STRICT for a rule they do not
// list; the target conforms when every rule is as expected (a listed
// deviation that went away is a difference too: the file is out of date).
// A harness failure makes any run not conform. It returns the rules, with
// Expected and AsExpected set when there are expectations, and how many
// rules the expectations did not foresee.
func assess(rs []RuleResult, harnessFailures []string, e *Expectations) (judged []RuleResult, conformant bool, unexpected int) {
	judged = slices.Clone(rs)
	conformant = len(harnessFailures) == 0
	for i := range judged {
		r := &judged[i]
		if e == nil {
			if r.Outcome == OutcomeFail || r.Outcome == OutcomeHang || r.Outcome == OutcomeError {
				conformant = false
			}
			continue
		}
		x, listed := e.Rules[r.Rule]
		switch {
		case listed:
			xc := x
			r.Expected = &xc
			r.AsExpected = r.Outcome == x.Outcome
		default:
			r.AsExpected = r.Outcome == OutcomePass || r.Outcome == OutcomeNA || r.Outcome == OutcomeNonStrict
		}
		if !r.AsExpected {
			conformant = false
			unexpected++
		}
	}
	return judged, conformant, unexpected
}
