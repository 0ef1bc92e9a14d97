package spec

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/sockspec/sockspec/spec/rules"
)

// Shard says which part of a sharded run a verdict is: the Index-th (from
// 1) of Count, and the rules it was given. The rules of a shard are
// chosen by the command line; a rule's specs all run in one shard, so
// that its outcome, the worst of its specs', is whole.
type Shard struct {
	Index int      `json:"index"`
	Count int      `json:"count"`
	Rules []string `json:"rules"`
}

// ChosenRules lists, in the registry's order, the rules whose specs a
// label filter chooses ("" chooses every rule). A spec's one label is its
// rule's (see suiteLabels), so a filter chooses whole rules.
func ChosenRules(labelFilter string) ([]string, error) {
	matches := func([]string) bool { return true }
	if labelFilter != "" {
		var err error
		if matches, err = types.ParseLabelFilter(labelFilter); err != nil {
			return nil, fmt.Errorf("label filter %q does not parse: %s", labelFilter, plainGinkgoError(err))
		}
	}
	var ids []string
	for _, r := range rules.All() {
		if matches([]string{"rule:" + r.ID}) {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// Merge joins the verdicts of runs that judged disjoint sets of rules of
// one target with the same expectations and strictness (the shards of a
// run) into the verdict one run of all those rules gives. Each rule was
// judged whole in its part, and whether a run conforms depends on each
// rule alone, so nothing is judged again: the rules are joined and the
// counts, the harness failures and the hygiene findings added up. The
// result spans from the first part's start to the last one's end, and
// keeps the parts' seed when they share one (0 otherwise: each spec's
// replay command still names its own).
//
// Parts of different targets, versions, expectations, strictness,
// simulated networks or sockspec builds are refused, as is a rule judged in two parts.
func Merge(parts ...*Verdict) (*Verdict, error) {
	if len(parts) == 0 {
		return nil, errors.New("no verdict to merge")
	}
	first := parts[0]
	// What the parts share (the build, the target, the machine…) is the
	// first part's; what they add up is counted again below.
	v := new(Verdict)
	*v = *first
	v.Shard, v.Rules, v.HarnessFailures = nil, nil, nil
	v.Counts, v.Conformant, v.Unexpected, v.HygieneFindings = map[Outcome]int{}, true, 0, 0
	v.Started, v.Duration = time.Time{}, 0
	var end time.Time
	judgedIn := map[string]int{}
	for i, p := range parts {
		if err := sameRun(first, p); err != nil {
			return nil, err
		}
		if p.Seed != v.Seed {
			v.Seed = 0
		}
		for _, r := range p.Rules {
			if j, ok := judgedIn[r.Rule]; ok {
				return nil, fmt.Errorf("%s was judged twice, by verdicts %d and %d of the merge: the parts overlap", r.Rule, j+1, i+1)
			}
			judgedIn[r.Rule] = i
			v.Rules = append(v.Rules, r)
			v.Counts[r.Outcome]++
		}
		v.Conformant = v.Conformant && p.Conformant
		v.Unexpected += p.Unexpected
		v.HygieneFindings += p.HygieneFindings
		v.HarnessFailures = append(v.HarnessFailures, p.HarnessFailures...)
		if !p.Started.IsZero() {
			if v.Started.IsZero() || p.Started.Before(v.Started) {
				v.Started = p.Started
			}
			if e := p.Started.Add(p.Duration); e.After(end) {
				end = e
			}
		}
	}
	if !v.Started.IsZero() {
		v.Duration = end.Sub(v.Started)
	}
	sort.Slice(v.Rules, func(i, j int) bool { return v.Rules[i].Rule < v.Rules[j].Rule })
	v.Summary = v.words()
	return v, nil
}

// sameRun refuses to merge b into a run begun by a when they judged
// different things or were judged differently.
func sameRun(a, b *Verdict) error {
	differ := func(what string, x, y any) error {
		return fmt.Errorf("the verdicts differ in %s (%v and %v): they are not parts of one run", what, x, y)
	}
	switch {
	case a.Target != b.Target:
		return differ("target", a.Target, b.Target)
	case a.Version != b.Version:
		return differ("target version", a.Version, b.Version)
	case a.Expectations != b.Expectations:
		return differ("expectations", orNone(a.Expectations), orNone(b.Expectations))
	case a.Strict != b.Strict:
		return differ("--strict", a.Strict, b.Strict)
	case a.Network != b.Network:
		return differ("network", orNone(a.Network), orNone(b.Network))
	case a.Sockspec.Version != b.Sockspec.Version || a.Sockspec.Revision != b.Sockspec.Revision:
		return differ("the sockspec that judged them", a.Sockspec.Version+" "+a.Sockspec.Revision, b.Sockspec.Version+" "+b.Sockspec.Revision)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
