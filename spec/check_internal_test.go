package spec

import (
	"errors"
	"strings"
	"testing"
)

// A run's filters are checked before it starts: a focus that is no
// regular expression, a label filter that does not parse or chooses no
// spec, each in one plain line.
func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		cfg     Config
		want    string // a part of the error; "" for none
		noSpecs bool
	}{
		{cfg: Config{}},
		{cfg: Config{LabelFilter: "rule:ORD-01"}},
		{cfg: Config{LabelFilter: "rule:ORD-01 || rule:NOPE-01"}},
		{cfg: Config{Focus: "ORD-0[13]"}},
		{cfg: Config{LabelFilter: "rule:NOPE-01"}, want: `label filter "rule:NOPE-01": no spec matches`, noSpecs: true},
		{cfg: Config{LabelFilter: "rule:("}, want: `label filter "rule:(" does not parse`},
		{cfg: Config{Focus: "("}, want: `focus "(" is no regular expression: missing closing )`},
	} {
		err := tc.cfg.Check()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v, want no error", tc.cfg, err)
		case tc.want == "":
		case err == nil || !strings.Contains(err.Error(), tc.want):
			t.Errorf("%+v: %v, want an error with %q", tc.cfg, err, tc.want)
		case errors.Is(err, ErrNoSpecs) != tc.noSpecs:
			t.Errorf("%+v: %v: is ErrNoSpecs %v, want %v", tc.cfg, err, errors.Is(err, ErrNoSpecs), tc.noSpecs)
		case strings.ContainsAny(err.Error(), "\n\x1b") || strings.Contains(err.Error(), "{{"):
			t.Errorf("%+v: %q is not one plain line", tc.cfg, err)
		}
	}
}
