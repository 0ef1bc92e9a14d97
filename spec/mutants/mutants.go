// Package mutants holds broken variants of the reference, each breaking
// one rule on purpose through impl's seams, and registers them with
// adapters/inproc. The meta-suite runs each mutant against its rule's
// specs and fails when one survives: a spec that cannot catch the break
// it names proves nothing.
package mutants

import "github.com/sockspec/sockspec/adapters/inproc"

// Mutant is one broken variant.
type Mutant struct {
	// Name is unique: "<rule>-<what breaks>", lower case.
	Name string
	// Rule is the rule the mutant breaks; the meta-suite runs that rule's
	// specs against it.
	Rule string
	// Break describes the break.
	Break    string
	Mutation inproc.Mutation
}

var all []Mutant

func register(m Mutant) {
	all = append(all, m)
	inproc.RegisterMutation(m.Name, m.Mutation)
}

// All lists every mutant.
func All() []Mutant { return append([]Mutant(nil), all...) }
