package rules

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/spec/driver"
)

var update = flag.Bool("update", false, "rewrite rules.golden.json from the registry")

// golden is the shape of rules.golden.json.
type golden struct {
	Rules    []Rule     `json:"rules"`
	Retired  []string   `json:"retired"`
	NotRules []NotARule `json:"not_rules"`
}

func render(t *testing.T) []byte {
	t.Helper()
	b, err := json.MarshalIndent(golden{Rules: All(), Retired: Retired, NotRules: NotRules()}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// The golden file mirrors the registry: a change of the contract shows as a
// change of that file. Run `go test ./spec/rules -update` after changing
// the registry on purpose.
func TestGoldenFileMatchesRegistry(t *testing.T) {
	want := render(t)
	const path = "rules.golden.json"
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `go test ./spec/rules -update` to write it", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the registry: run `go test ./spec/rules -update` and review the diff", path)
	}
}

var idPattern = regexp.MustCompile(`^(ORD|TMO|SHD|ERR|FRK|THR|NET|HND|EIN|RES|EDG)-\d{2}$`)

func TestRulesAreWellFormed(t *testing.T) {
	known := map[string]bool{}
	for _, c := range driver.KnownCapabilities() {
		known[c] = true
	}
	families := map[string]bool{driver.CapTCP: true, driver.CapUDP: true, driver.CapUnixStream: true, driver.CapUnixDgram: true}
	seen := map[string]bool{}
	for _, r := range All() {
		if !idPattern.MatchString(r.ID) {
			t.Errorf("%s: an ID is AREA-NN with a known area", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("%s: registered twice", r.ID)
		}
		seen[r.ID] = true
		if slices.Contains(Retired, r.ID) {
			t.Errorf("%s: the ID is retired and must not be given out again", r.ID)
		}
		if r.Area != strings.SplitN(r.ID, "-", 2)[0] {
			t.Errorf("%s: area %q", r.ID, r.Area)
		}
		if r.Title == "" || r.Text == "" || len(r.Sources) == 0 {
			t.Errorf("%s: a rule needs a title, a text and at least one source", r.ID)
		}
		switch r.Level {
		case Must:
			if !strings.Contains(r.Text, "MUST") {
				t.Errorf("%s: a MUST rule's text says MUST: %q", r.ID, r.Text)
			}
			if strings.Contains(r.Text, "SHOULD") {
				t.Errorf("%s: a MUST rule's text says SHOULD: %q", r.ID, r.Text)
			}
		case Should:
			if !strings.Contains(r.Text, "SHOULD") {
				t.Errorf("%s: a SHOULD rule's text says SHOULD: %q", r.ID, r.Text)
			}
			if r.Why == "" {
				t.Errorf("%s: a SHOULD rule says why it matters", r.ID)
			}
		default:
			t.Errorf("%s: level %q", r.ID, r.Level)
		}
		if strings.Count(r.Text, ".") != 1 || !strings.HasSuffix(r.Text, ".") {
			t.Errorf("%s: the text is one sentence ending in a full stop: %q", r.ID, r.Text)
		}
		for _, n := range r.Needs {
			if !known[n] {
				t.Errorf("%s needs %q, which is no known capability", r.ID, n)
			}
		}
		for _, f := range r.Families {
			if !families[f] {
				t.Errorf("%s: family %q is no family capability", r.ID, f)
			}
		}
	}
	if n := len(seen); n < 50 {
		t.Errorf("only %d rules", n)
	}
}

// Every catalogue entry is a rule (by ID or as a source), retired, or a
// not-a-rule with a reason; nothing of the catalogue is forgotten.
func TestCatalogueIsCovered(t *testing.T) {
	covered := map[string]string{}
	for _, r := range All() {
		covered[r.ID] = "rule " + r.ID
		for _, s := range r.Sources {
			covered[catalogueID(s)] = "source of " + r.ID
		}
	}
	for _, id := range Retired {
		covered[id] = "retired"
	}
	for _, n := range NotRules() {
		id := catalogueID(n.Source)
		if n.Reason == "" {
			t.Errorf("not-a-rule %s has no reason", n.Source)
		}
		if _, isRule := Lookup(id); isRule {
			t.Errorf("%s is a rule and a not-a-rule", id)
		}
		covered[id] = "not a rule"
	}
	for _, id := range Catalogue {
		if covered[id] == "" {
			t.Errorf("catalogue entry %s is neither a rule, nor a rule's source, nor retired, nor a not-a-rule", id)
		}
	}
}

// catalogueID turns "SEMANTICS FRK-03" or "edge case E12" into FRK-03 or E12.
func catalogueID(source string) string {
	for _, prefix := range []string{"SEMANTICS ", "edge case "} {
		if strings.HasPrefix(source, prefix) {
			return strings.TrimPrefix(source, prefix)
		}
	}
	return ""
}

func TestLookup(t *testing.T) {
	r, ok := Lookup("ORD-03")
	if !ok || r.ID != "ORD-03" || r.Area != "ORD" || r.Level != Must {
		t.Fatalf("Lookup(ORD-03) = %+v, %v", r, ok)
	}
	if _, ok := Lookup("ORD-99"); ok {
		t.Fatal("Lookup(ORD-99) found a rule")
	}
	all := All()
	all[0].ID = "changed"
	if All()[0].ID == "changed" {
		t.Fatal("All returns the registry itself, not a copy")
	}
}
