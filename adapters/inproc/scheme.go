package inproc

import (
	"fmt"

	"github.com/sockspec/sockspec/spec/driver"
)

// ReferenceScheme opens "reference": the reference in this process.
func ReferenceScheme() driver.Scheme { return referenceScheme{} }

type referenceScheme struct{}

func (referenceScheme) Name() string  { return "reference" }
func (referenceScheme) Usage() string { return "reference" }

func (referenceScheme) Open(arg string, _ driver.OpenOptions) (driver.Target, error) {
	if arg != "" {
		return nil, fmt.Errorf("target reference:%s: the reference takes no argument: write reference, or mutant:NAME for a mutant", arg)
	}
	return &Target{}, nil
}

// MutantScheme opens "mutant:NAME": the reference, in this process, with
// the mutation of that name among known.
func MutantScheme(known Mutations) driver.Scheme { return mutantScheme{known} }

type mutantScheme struct{ known Mutations }

func (mutantScheme) Name() string  { return "mutant" }
func (mutantScheme) Usage() string { return "mutant:NAME" }

func (s mutantScheme) Open(arg string, _ driver.OpenOptions) (driver.Target, error) {
	if _, ok := s.known[arg]; !ok {
		return nil, fmt.Errorf("unknown mutant %q: the %d mutants are named in spec/mutants (go test ./spec/mutants -run TestEveryRuleHasAMutant -v lists them)", arg, len(s.known))
	}
	return &Target{Mutation: arg, Mutations: s.known}, nil
}
