package htmlreport

import (
	"bytes"
	"errors"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/spec/rules"
)

func render(t *testing.T, runs []Run) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, runs, Options{Semantics: "../../docs/SEMANTICS.md"}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The page has a row a rule and a cell a rule and run, each with its
// detail; a rule a run did not judge is a cell that says so.
func TestPageStructure(t *testing.T) {
	runs := fixtureRuns()
	page := render(t, runs)
	n := len(rules.All())
	cells := n * len(runs)
	for what, want := range map[string]int{
		`<td class="cell `:                       cells,
		`<section class="detail"`:                cells,
		`<tr data-area="`:                        n,
		`<th scope="col" class="target">`:        len(runs),
		`>not run</button>`:                      n - len(areaRules("ORD")),
		`<span class="mark">▲ unexpected</span>`: 2,
		`<span class="mark">◆ expected</span>`:   2,
	} {
		if got := strings.Count(page, what); got != want {
			t.Errorf("%d × %q, want %d", got, what, want)
		}
	}
	for _, want := range []string{
		`<tr data-area="ORD" data-level="MUST" data-unexpected="true">`,
		`<option value="SHD">SHD</option>`,
		`href="../../docs/SEMANTICS.md#ORD-03"`,
		`href="https://bugs.python.org/issue26309"`,
		`sockspec (devel) go1.26.0`,
		`ci-runner (Linux 6.1.0 x86_64)`,
		`<span class="verdict bad">NOT AS EXPECTED</span>`,
		`hook orders are compared with reference go1.26.0`,
		// The rule-level replay command names the target as its specs' do.
		`sockspec run --target cpython:3.11 --label-filter rule:ORD-03 -v`,
		// The reference's hook order has shutdown_request; the target's not.
		`<span class="del">−     shutdown_request{</span><span class="del">−       close_request</span>`,
		`the same hook order as the reference`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	ord03, _ := rules.Lookup("ORD-03")
	detail := section(t, page, "d-ORD-03-1")
	for _, want := range []string{"ORD-03", escapeText(ord03.Text), "FAIL", "unexpected", "verify_request return -&gt; False"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the detail of ORD-03 on cpython lacks %q:\n%s", want, detail)
		}
	}
}

// Messages, timelines and names come from targets: none of them may
// become markup. The page has one script, its own.
func TestHostileStringsAreEscaped(t *testing.T) {
	page := render(t, fixtureRuns())
	for _, bad := range []string{"<img", "<script>window", "onerror=\"", "</script><script>"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q unescaped", bad)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d <script elements, want the page's own only", n)
	}
	if n := strings.Count(page, "</script>"); n != 1 {
		t.Errorf("%d </script> tags, want the page's own only", n)
	}
	if !strings.Contains(page, "&lt;/script&gt;&lt;script&gt;window.pwned = 1&lt;/script&gt;&lt;img src=x onerror=&#34;window.pwned = 2&#34;&gt;") {
		t.Errorf("the hostile message is not shown escaped")
	}
}

// The page fetches nothing: no src attribute, no stylesheet or font from
// elsewhere, and a policy that allows only its own inline CSS and script.
func TestPageFetchesNothing(t *testing.T) {
	page := render(t, fixtureRuns())
	if m := regexp.MustCompile(`(?i)<[a-z][^>]*\ssrc=|@import|url\(|<link (?:[^>]*)href="(?:[^d]|d[^a])`).FindString(page); m != "" {
		t.Errorf("the page refers to a resource: %q", m)
	}
	meta := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	if meta == nil {
		t.Fatal("the page has no Content-Security-Policy")
	}
	csp := html.UnescapeString(meta[1])
	for _, want := range []string{"default-src 'none'", "script-src '" + hashOf(script) + "'", "style-src '" + hashOf(style) + "'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the policy %q lacks %q", csp, want)
		}
	}
	// The hashes are of what the page holds, byte for byte.
	if !strings.Contains(page, "<script>"+script+"</script>") || !strings.Contains(page, "<style>"+style+"</style>") {
		t.Errorf("the inline assets differ from the ones the policy hashes")
	}
}

func TestOneRunHasNoDiff(t *testing.T) {
	page := render(t, fixtureRuns()[1:2])
	if strings.Contains(page, "hook orders are compared") || strings.Contains(page, `class="diff"`) {
		t.Errorf("a page without the reference compares hook orders")
	}
	if !strings.Contains(page, `<pre class="hooks">`) {
		t.Errorf("a page without the reference does not show the hook order")
	}
}

func TestDiffHooks(t *testing.T) {
	got, cut := diffHooks("a b c d", "a c e d")
	var s []string
	for _, l := range got {
		s = append(s, string(l.Op)+l.Hook)
	}
	if strings.Join(s, " ") != " a -b  c +e  d" || cut {
		t.Errorf("diffHooks = %q (cut %v)", strings.Join(s, " "), cut)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); !errors.Is(err, ErrNoReport) {
		t.Errorf("Load of a directory without report.json: %v, want ErrNoReport", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ReportFile), []byte(`{"rules": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a sockspec report") {
		t.Errorf("Load of a report without a target: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ReportFile), []byte(`{"target": "reference", "rules": [{"rule": "ORD-01", "outcome": "PASS"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Load(dir)
	if err != nil || r.Source != dir || len(r.Rules) != 1 {
		t.Errorf("Load = %+v, %v", r, err)
	}
}

// The link to the catalogue is relative to the page and resolves.
func TestSemanticsFrom(t *testing.T) {
	dir := t.TempDir()
	link := SemanticsFrom(dir)
	if filepath.IsAbs(link) || !strings.HasSuffix(link, "docs/SEMANTICS.md") {
		t.Fatalf("SemanticsFrom(%s) = %q", dir, link)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(link))); err != nil {
		t.Errorf("the link does not resolve from the page: %v", err)
	}
}

func TestWriteFromJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	if err := WriteFromJSON(path, []byte(`{"target": "reference", "version": "go1", "rules": [{"rule": "ORD-01", "level": "MUST", "outcome": "PASS", "disposition": "pass"}]}`)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), `data-detail="d-ORD-01-0"`) {
		t.Errorf("report.html: %v\n%s", err, b)
	}
}

// section is the detail section with id.
func section(t *testing.T, page, id string) string {
	t.Helper()
	start := strings.Index(page, `<section class="detail" id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no detail %s", id)
	}
	end := strings.Index(page[start:], "</section>")
	return page[start : start+end]
}

func areaRules(area string) []rules.Rule {
	var out []rules.Rule
	for _, r := range rules.All() {
		if r.Area == area {
			out = append(out, r)
		}
	}
	return out
}

func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
