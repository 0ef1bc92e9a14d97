package process

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// wordCases are command lines and the words a POSIX shell makes of them.
var wordCases = []struct {
	line  string
	words []string
}{
	{"python3 driver.py", []string{"python3", "driver.py"}},
	{"  a \t b  ", []string{"a", "b"}},
	{"a\nb", []string{"a", "b"}}, // a newline separates words too
	{`python3 '/path with spaces/driver.py' --x`, []string{"python3", "/path with spaces/driver.py", "--x"}},
	{`sh -c "echo \"hi\" \$HOME \\ \n"`, []string{"sh", "-c", `echo "hi" $HOME \ \n`}},
	{`a\ b c\\d \'e`, []string{"a b", `c\d`, "'e"}},
	{`'' "" x`, []string{"", "", "x"}},
	{`pre'mid dle'"post x"`, []string{"premid dlepost x"}},
	{`$HOME * ~ ` + "`id`", []string{"$HOME", "*", "~", "`id`"}},
	{"a\\\nb", []string{"ab"}},
	{`'it''s'`, []string{"its"}},
	{`"a'b" 'c"d'`, []string{"a'b", `c"d`}},
	{"", nil},
}

func TestSplitWords(t *testing.T) {
	for _, tc := range wordCases {
		got, err := SplitWords(tc.line)
		if err != nil || !reflect.DeepEqual(got, tc.words) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", tc.line, got, err, tc.words)
		}
	}
	for _, bad := range []string{`'open`, `"open`, `x \`, `"a\"`} {
		if got, err := SplitWords(bad); err == nil {
			t.Errorf("SplitWords(%q) = %q, want an error", bad, got)
		}
	}
}

// The shell itself agrees: sh, told to set its arguments to each line
// (with globbing off), has the table's words. Lines it would expand, or
// end at a newline, are SplitWords' own choices and are left out.
func TestSplitWordsAgreesWithSh(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tc := range wordCases {
		if strings.HasPrefix(tc.line, "$HOME") || strings.Contains(strings.ReplaceAll(tc.line, "\\\n", ""), "\n") {
			continue
		}
		out, err := exec.Command(sh, "-c", "set -f; set -- "+tc.line+`; for w in "$@"; do printf '%s|' "$w"; done`).Output()
		if err != nil {
			t.Fatalf("sh on %q: %v", tc.line, err)
		}
		var want []string
		if s := string(out); s != "" {
			want = strings.Split(strings.TrimSuffix(s, "|"), "|")
		}
		if !reflect.DeepEqual(want, tc.words) {
			t.Errorf("sh splits %q into %q; the table says %q", tc.line, want, tc.words)
		}
	}
}
