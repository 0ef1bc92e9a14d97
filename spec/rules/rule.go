// Package rules is the registry of the BaseServer contract: one entry per
// rule, each with a stable ID, one normative sentence, the capabilities a
// target needs for the rule to apply, and where the rule comes from.
//
// IDs are forever. A rule that is withdrawn keeps its ID in Retired and the
// ID is never given to another rule. IDs that come from the semantics
// catalogue (ORD-03, FRK-06…) name the same behaviour here; rules the
// catalogue does not number get the next free number of their area.
//
// The registry is code; rules.golden.json mirrors it, and a test keeps the
// two equal, so that a change of the contract shows in review as a change
// of that file. The package imports the standard library and spec/driver
// (the capabilities a rule needs are the protocol's) only: adapters in
// other repositories may vendor it.
package rules

// Level says how strongly a rule binds.
type Level string

const (
	// Must rules are the contract: breaking one is a FAIL.
	Must Level = "MUST"
	// Should rules are improvements over CPython's behaviour that a target
	// ought to have (no deadlock, no busy spin, no leak): breaking one is
	// NON-STRICT, not FAIL.
	Should Level = "SHOULD"
)

// Rule is one rule of the contract.
type Rule struct {
	// ID is stable: AREA-NN, for example ORD-03.
	ID string `json:"id"`
	// Area is the ID's prefix: ORD, TMO, SHD, ERR, FRK, THR, NET, HND, EIN,
	// RES, or EDG for the edge cases that are behaviours of their own.
	Area  string `json:"area"`
	Level Level  `json:"level"`
	// Title names the rule in a few words, for tables.
	Title string `json:"title"`
	// Text is the rule: one sentence with MUST or SHOULD.
	Text string `json:"text"`
	// Needs lists the capabilities (driver.Cap…) without which the rule
	// does not apply.
	// Family capabilities listed here are alternatives where a rule holds
	// for each family a target has; see Families.
	Needs []string `json:"needs,omitempty"`
	// Families, when set, are the families the rule is about; the rule
	// applies to a target having at least one of them.
	Families []string `json:"families,omitempty"`
	// Sources are where the rule comes from: entries of docs/SEMANTICS.md
	// (SEMANTICS ORD-03, edge case E11), CPython issues (bpo-26309, gh-128916),
	// tests (test_socketserver.MiscTestCase.test_…).
	Sources []string `json:"sources"`
	// Why, for a SHOULD rule, says what goes wrong without it.
	Why string `json:"why,omitempty"`
}

// NotARule is a catalogue entry that the registry deliberately does not
// turn into a rule, with the reason.
type NotARule struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}
