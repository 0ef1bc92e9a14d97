// Package mutants holds broken variants of the reference, each breaking
// one rule on purpose through impl's seams; Set gives them to
// adapters/inproc, whose targets (mutant:NAME) run them. The meta-suite runs each mutant against its rule's
// specs and fails when one survives: a spec that cannot catch the break
// it names proves nothing.
package mutants

import (
	"fmt"

	"github.com/sockspec/sockspec/adapters/inproc"
)

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

// register adds m to the package's list (each file's init declares its
// mutants).
func register(m Mutant) { all = append(all, m) }

// All lists every mutant.
func All() []Mutant { return append([]Mutant(nil), all...) }

// Set is every mutant's mutation by name, as adapters/inproc takes them
// (inproc.MutantScheme, inproc.ChildMain).
func Set() inproc.Mutations {
	set := make(inproc.Mutations, len(all))
	for _, m := range all {
		if _, dup := set[m.Name]; dup || m.Name == "" {
			panic(fmt.Sprintf("mutants: mutant %q declared twice, or without a name", m.Name))
		}
		set[m.Name] = m.Mutation
	}
	return set
}
