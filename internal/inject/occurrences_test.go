package inject_test

import (
	"testing"

	"github.com/sockspec/sockspec/internal/inject"
)

func TestOccurrences(t *testing.T) {
	cases := []struct {
		o    inject.Occurrences
		fire []int
		not  []int
		str  string
	}{
		{inject.Occurrences{}, nil, []int{1, 2, 100}, "never"},
		{inject.Nth(2), []int{2}, []int{1, 3}, "2"},
		{inject.Nth(1, 3), []int{1, 3}, []int{2, 4}, "1,3"},
		{inject.From(3), []int{3, 4, 1000}, []int{1, 2}, "3+"},
		{inject.Range(2, 5), []int{2, 3, 5}, []int{1, 6}, "2-5"},
		{inject.Always(), []int{1, 2, 99}, nil, "1+"},
		{inject.Nth(1).Or(inject.From(4)), []int{1, 4, 5}, []int{2, 3}, "1,4+"},
	}
	for _, c := range cases {
		for _, n := range c.fire {
			if !c.o.Has(n) {
				t.Errorf("%v: %d does not fire", c.o, n)
			}
		}
		for _, n := range c.not {
			if c.o.Has(n) {
				t.Errorf("%v: %d fires", c.o, n)
			}
		}
		if got := c.o.String(); got != c.str {
			t.Errorf("String() = %q, want %q", got, c.str)
		}
	}
	if !(inject.Occurrences{}).IsZero() || inject.Nth(1).IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestOccurrencesRejectNonsense(t *testing.T) {
	for name, f := range map[string]func(){
		"Nth(0)":      func() { inject.Nth(0) },
		"From(-1)":    func() { inject.From(-1) },
		"Range(3, 2)": func() { inject.Range(3, 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}
