package driver

import (
	"fmt"
	"strings"
)

// Scheme opens one kind of target. A target's name is the scheme's name,
// alone or followed by a colon and an argument: "reference",
// "mutant:NAME", "cpython:3.11", "process:COMMAND ARGS". The suite knows
// no scheme; each adapter package offers its own, and the program that
// runs the suite lists them in one Registry.
type Scheme interface {
	// Name is the part of a target's name before the colon: "cpython".
	Name() string
	// Usage shows how to name the scheme's targets, in a few words for a
	// help text and for the error of an unknown name:
	// "cpython:VERSION|PATH".
	Usage() string
	// Open makes the target arg names (the part after the colon; "" when
	// there is none). Its error is one line that says what was wrong and
	// what to write instead.
	Open(arg string, o OpenOptions) (Target, error)
}

// OpenOptions are what the schemes need from the program's command line
// beyond a target's name.
type OpenOptions struct {
	// Family, Dispatch and Vouch are what the user declares of a server
	// program that has no adapter (exec:): the family it serves, what it
	// does per request, and the capabilities vouched for ("signals").
	// Other schemes ignore them.
	Family   Family
	Dispatch Dispatch
	Vouch    []string
	// Sockspec is the path of the sockspec executable, whose "adapter"
	// command serves the reference through the protocol
	// (reference-process); "" in a program that is not sockspec.
	Sockspec string
}

// Registry resolves target names to targets through its schemes.
type Registry struct {
	schemes []Scheme
}

// NewRegistry lists the schemes a program offers; the first opens the
// target of an empty name. Two schemes of one name, or a name with a
// colon, are a programming error.
func NewRegistry(schemes ...Scheme) *Registry {
	seen := map[string]bool{}
	for _, s := range schemes {
		n := s.Name()
		if n == "" || strings.Contains(n, ":") || seen[n] {
			panic(fmt.Sprintf("driver: scheme name %q is empty, has a colon or is taken", n))
		}
		seen[n] = true
	}
	return &Registry{schemes: schemes}
}

// Open resolves name ("scheme" or "scheme:arg") to a target.
func (r *Registry) Open(name string, o OpenOptions) (Target, error) {
	if name == "" && len(r.schemes) > 0 {
		return r.schemes[0].Open("", o)
	}
	scheme, arg, _ := strings.Cut(name, ":")
	for _, s := range r.schemes {
		if s.Name() == scheme {
			return s.Open(arg, o)
		}
	}
	return nil, fmt.Errorf("unknown target %q: want %s", name, r.Usage())
}

// Usage lists how to name each scheme's targets, in one line:
// "reference, mutant:NAME or cpython:VERSION|PATH".
func (r *Registry) Usage() string {
	var us []string
	for _, s := range r.schemes {
		us = append(us, s.Usage())
	}
	switch len(us) {
	case 0:
		return "a target (this program knows none)"
	case 1:
		return us[0]
	}
	return strings.Join(us[:len(us)-1], ", ") + " or " + us[len(us)-1]
}
