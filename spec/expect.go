package spec

import (
	"bytes"
	"encoding/json"
	"errors"
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
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		line, col := position(b, errorOffset(b, err, dec))
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			// Said in the file's terms, not Go's.
			err = fmt.Errorf("a JSON %s where a %s belongs (field %s)", typ.Value, typ.Type.Kind(), typ.Field)
		}
		return nil, fmt.Errorf("expectations %s:%d:%d: %w", source, line, col, err)
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

// Disposition is what a run's verdict makes of an outcome, so that a
// reader of report.json or junit.xml need not judge it again.
type Disposition string

const (
	// DispositionPass: PASS or N/A, what a conforming target may show.
	DispositionPass Disposition = "pass"
	// DispositionExpected: a deviation the verdict accepts, with its
	// reason: one the expectations list, or a broken SHOULD rule
	// (NON-STRICT) outside --strict.
	DispositionExpected Disposition = "expected"
	// DispositionUnexpected: an outcome that makes the run not conform.
	DispositionUnexpected Disposition = "unexpected"
)

// errorOffset is the byte offset of a decoding error in b: where the
// syntax broke, where the value of the wrong type is, where an unknown
// field's key is; else where the decoder stopped.
func errorOffset(b []byte, err error, dec *json.Decoder) int64 {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return syntax.Offset
	case errors.As(err, &typ):
		return typ.Offset
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if i := bytes.Index(b, []byte(name)); i >= 0 {
			return int64(i) + 1
		}
	}
	return dec.InputOffset()
}

// position is the line and column (both from 1, the column in bytes) of
// the offset-th byte of b.
func position(b []byte, offset int64) (line, col int) {
	if len(b) == 0 {
		return 1, 1
	}
	before := b[:min(max(offset, 1), int64(len(b)))-1]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// assess decides what a run's rule outcomes mean, and changes nothing it
// is given. Without expectations the target conforms when no rule is
// FAIL, HANG or ERROR. With them, a rule is as expected when its outcome
// is the one they list, or PASS, N/A or NON-STRICT for a rule they do not
// list; the target conforms when every rule is as expected (a listed
// deviation that went away is a difference too: the file is out of date).
// strict is for a target that claims full conformance: every rule must be
// PASS or N/A, and an expected deviation or a NON-STRICT counts against
// it. A harness failure makes any run not conform. It returns the rules,
// with Expected and AsExpected set when there are expectations and the
// disposition of each rule and spec, and, with expectations or strict,
// how many rules the verdict does not accept.
func assess(rs []RuleResult, harnessFailures []string, e *Expectations, strict bool) (judged []RuleResult, conformant bool, unexpected int) {
	judged = slices.Clone(rs)
	conformant = len(harnessFailures) == 0
	for i := range judged {
		r := &judged[i]
		r.Specs = slices.Clone(r.Specs)
		accepted := r.Outcome != OutcomeFail && r.Outcome != OutcomeHang && r.Outcome != OutcomeError
		if e != nil {
			x, listed := e.Rules[r.Rule]
			switch {
			case listed:
				xc := x
				r.Expected = &xc
				r.AsExpected = r.Outcome == x.Outcome
			default:
				r.AsExpected = r.Outcome == OutcomePass || r.Outcome == OutcomeNA || r.Outcome == OutcomeNonStrict
			}
			accepted = r.AsExpected
		}
		if strict {
			accepted = r.Outcome == OutcomePass || r.Outcome == OutcomeNA
		}
		r.Disposition, r.Reason = dispose(*r, accepted, e, strict)
		for j := range r.Specs {
			r.Specs[j].Disposition, r.Specs[j].Reason = disposeSpec(r.Specs[j].Outcome, *r)
		}
		if !accepted {
			conformant = false
			if e != nil || strict {
				unexpected++
			}
		}
	}
	return judged, conformant, unexpected
}

// dispose is a rule's disposition and the reason a reader needs with it.
func dispose(r RuleResult, accepted bool, e *Expectations, strict bool) (Disposition, string) {
	deviation := r.Outcome != OutcomePass && r.Outcome != OutcomeNA
	switch {
	case !accepted && strict && deviation:
		reason := "--strict: every rule must be PASS or N/A"
		if r.Expected != nil && r.AsExpected {
			reason += fmt.Sprintf("; %s expects %s: %s", e.Source, r.Expected.Outcome, r.Expected.Why)
		}
		return DispositionUnexpected, reason
	case !accepted && r.Expected != nil:
		reason := fmt.Sprintf("%s expects %s (%s), the rule was %s", e.Source, r.Expected.Outcome, r.Expected.Why, r.Outcome)
		if !deviation {
			reason += ": the deviation went away, and the expectations file is out of date"
		}
		return DispositionUnexpected, reason
	case !accepted && e != nil:
		return DispositionUnexpected, fmt.Sprintf("%s does not list %s: a %s is not foreseen", e.Source, r.Rule, r.Outcome)
	case !accepted:
		return DispositionUnexpected, ""
	case r.Expected != nil && r.AsExpected && r.Outcome != OutcomePass:
		return DispositionExpected, fmt.Sprintf("%s expects %s: %s", e.Source, r.Expected.Outcome, r.Expected.Why)
	case r.Outcome == OutcomeNonStrict:
		return DispositionExpected, "a SHOULD rule: NON-STRICT does not make a run non-conformant (--strict would)"
	}
	return DispositionPass, ""
}

// disposeSpec is a spec's disposition within its judged rule: a spec
// that deviates, or that gave the rule its outcome, shares the rule's
// disposition; a spec that passed or was N/A in a rule that did worse
// passes.
func disposeSpec(o Outcome, r RuleResult) (Disposition, string) {
	deviation := o != OutcomePass && o != OutcomeNA
	if deviation || o == r.Outcome {
		return r.Disposition, r.Reason
	}
	return DispositionPass, ""
}
