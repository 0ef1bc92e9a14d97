package main

import (
	"reflect"
	"slices"
	"testing"

	"github.com/sockspec/sockspec/spec"
	"github.com/sockspec/sockspec/spec/rules"
)

func TestParseShard(t *testing.T) {
	for in, want := range map[string]shardSpec{"1/1": {1, 1}, "2/3": {2, 3}, "10/10": {10, 10}} {
		if got, err := parseShard(in); err != nil || got != want {
			t.Errorf("parseShard(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1", "0/2", "3/2", "1/0", "a/b", "1/2/3", "-1/2"} {
		if _, err := parseShard(in); err == nil {
			t.Errorf("parseShard(%q) took it", in)
		}
	}
}

// Every rule falls in exactly one shard, the same one however often the
// split is made, each shard in the registry's order, and the shards'
// costs are close: none exceeds the lightest by more than the costliest
// rule.
func TestShardRules(t *testing.T) {
	all, err := spec.ChosenRules("")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(rules.All()) {
		t.Fatalf("no filter chose %d rules of %d", len(all), len(rules.All()))
	}
	heaviest := 0
	for _, id := range all {
		heaviest = max(heaviest, ruleCost(id))
	}
	for n := 1; n <= 8; n++ {
		shards := shardRules(all, n)
		if again := shardRules(all, n); !reflect.DeepEqual(shards, again) {
			t.Fatalf("%d shards: two splits differ", n)
		}
		var joined []string
		lightest, costliest := -1, 0
		for _, s := range shards {
			joined = append(joined, s...)
			cost := 0
			for _, id := range s {
				cost += ruleCost(id)
			}
			if lightest < 0 || cost < lightest {
				lightest = cost
			}
			costliest = max(costliest, cost)
			if !slices.IsSortedFunc(s, func(a, b string) int { return slices.Index(all, a) - slices.Index(all, b) }) {
				t.Errorf("%d shards: %v is not in the registry's order", n, s)
			}
		}
		slices.Sort(joined)
		want := slices.Clone(all)
		slices.Sort(want)
		if !reflect.DeepEqual(joined, want) {
			t.Errorf("%d shards do not hold every rule once: %v", n, shards)
		}
		if costliest-lightest > heaviest {
			t.Errorf("%d shards: costs from %d to %d, more apart than the costliest rule (%d)", n, lightest, costliest, heaviest)
		}
	}
	// More shards than rules: the last ones are empty.
	if s := shardRules([]string{"ORD-01", "ORD-02"}, 3); len(s[0])+len(s[1]) != 2 || len(s[2]) != 0 {
		t.Errorf("2 rules in 3 shards: %v", s)
	}
}

// The cost table names only rules of the registry: a renamed rule would
// otherwise fall back to the default cost unnoticed.
func TestRuleCostsNameRules(t *testing.T) {
	for id := range ruleCosts {
		if _, ok := rules.Lookup(id); !ok {
			t.Errorf("ruleCosts lists %s, which the registry does not have", id)
		}
	}
}

// A shard's filter chooses its rules within the user's filter.
func TestRuleFilter(t *testing.T) {
	for _, c := range []struct {
		filter string
		ids    []string
		want   []string
	}{
		{"", []string{"ORD-01", "SHD-02"}, []string{"ORD-01", "SHD-02"}},
		{"rule:ORD-01 || rule:ORD-02", []string{"ORD-01", "SHD-02"}, []string{"ORD-01"}},
	} {
		got, err := spec.ChosenRules(ruleFilter(c.filter, c.ids))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ruleFilter(%q, %v) chooses %v, %v; want %v", c.filter, c.ids, got, err, c.want)
		}
	}
}
