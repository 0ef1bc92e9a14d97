package htmlreport

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
)

var (
	//go:embed assets/page.html.tmpl
	pageTemplate string
	//go:embed assets/style.css
	style string
	//go:embed assets/script.js
	script string
)

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"outcomeClass": outcomeClass,
	"indent":       func(depth int) string { return strings.Repeat("  ", depth) },
	"diffClass": func(op byte) string {
		switch op {
		case '-':
			return "del"
		case '+':
			return "add"
		}
		return "same"
	},
	"diffSign": func(op byte) string {
		switch op {
		case '-':
			return "−"
		case '+':
			return "+"
		}
		return " "
	},
}).Parse(pageTemplate))

// policy is the page's Content-Security-Policy: nothing may be fetched
// (no script, style, font, image or frame from anywhere but the page's
// own inline CSS and script, named by their hashes), so that an
// attribute or element a message smuggled in would do nothing even if
// the escaping failed.
var policy = fmt.Sprintf("default-src 'none'; script-src '%s'; style-src '%s'; img-src data:; base-uri 'none'; form-action 'none'",
	hashOf(script), hashOf(style))

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// view is the template's data: the page and its inline assets.
type view struct {
	*page
	Policy string
	CSS    template.CSS
	JS     template.JS
}

// Options change how a page is rendered.
type Options struct {
	// Semantics is the address of docs/SEMANTICS.md from the page, for the
	// links to each rule's entry; SemanticsFrom finds it.
	Semantics string
}

// Render writes the page of runs (one column each) to w.
func Render(w io.Writer, runs []Run, o Options) error {
	if len(runs) == 0 {
		return fmt.Errorf("htmlreport: no run to render")
	}
	if o.Semantics == "" {
		o.Semantics = "docs/SEMANTICS.md"
	}
	return tmpl.Execute(w, view{page: buildPage(runs, o.Semantics), Policy: policy, CSS: template.CSS(style), JS: template.JS(script)})
}

// WriteFile renders runs into the file path, linking docs/SEMANTICS.md
// relative to it when the working directory is inside a sockspec tree.
func WriteFile(path string, runs ...Run) error {
	var b bytes.Buffer
	if err := Render(&b, runs, Options{Semantics: SemanticsFrom(filepath.Dir(path))}); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// WriteFromJSON renders the report.json reportJSON into the file path:
// what a run writes beside its report.json.
func WriteFromJSON(path string, reportJSON []byte) error {
	r, err := Decode(reportJSON, filepath.Dir(path))
	if err != nil {
		return err
	}
	return WriteFile(path, r)
}

// SemanticsFrom is the address of docs/SEMANTICS.md relative to dir: the
// catalogue of the sockspec tree the working directory is in (or under),
// or "docs/SEMANTICS.md" when there is none to point at.
func SemanticsFrom(dir string) string {
	const doc = "docs/SEMANTICS.md"
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return doc
	}
	wd, err := os.Getwd()
	if err != nil {
		return doc
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, doc)); err == nil {
			rel, err := filepath.Rel(absDir, filepath.Join(d, doc))
			if err != nil {
				return doc
			}
			return filepath.ToSlash(rel)
		}
		if filepath.Dir(d) == d {
			return doc
		}
	}
}
