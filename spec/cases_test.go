package spec

import (
	"testing"

	"github.com/sockspec/sockspec/spec/rules"
)

// Every case names rules that exist (TestSpec checks they have specs,
// once the tree is built).
func TestCasesNameRules(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] {
			t.Errorf("case %s is listed twice", c.Name)
		}
		seen[c.Name] = true
		if len(c.Rules) == 0 || c.Says == "" {
			t.Errorf("case %s says nothing or names no rule", c.Name)
		}
		for _, id := range c.Rules {
			if _, ok := rules.Lookup(id); !ok {
				t.Errorf("case %s names %s, which is no rule", c.Name, id)
			}
		}
	}
	if _, err := LookupCase("no-such-case"); err == nil {
		t.Error("LookupCase found a case that does not exist")
	}
}
