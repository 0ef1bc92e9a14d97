package htmlreport

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec/rules"
)

// artefacts is where the browser test leaves the page and its screenshot
// ('make report-test': reports/report-test); a temporary directory when
// empty.
var artefacts = flag.String("artefacts", "", "directory for the browser test's report.html and screenshot.png")

// browserBound bounds the whole browser session: start, load, clicks.
const browserBound = 90 * time.Second

// chromium finds a Chromium, or skips the test (fails it under CI=true,
// where .ci/run installs one and a missing browser is a broken machine).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const why = "no chromium on PATH (apt-get install chromium): the HTML report is not tested in a browser"
	if testkit.InCI() {
		t.Fatal("CI is set, and a missing browser fails: " + why)
	}
	t.Skip(why)
	return ""
}

// browserLog collects what the page must not cause: console errors and
// warnings, uncaught exceptions, browser log errors (a refused policy, a
// failed load), failed requests, and any request but the page's own.
type browserLog struct {
	mu       sync.Mutex
	page     string
	problems []string
}

func (l *browserLog) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, fmt.Sprint(a.Value, a.Description))
			}
			l.problems = append(l.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		l.problems = append(l.problems, "exception: "+text)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
			l.problems = append(l.problems, fmt.Sprintf("browser log %s (%s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		if u := ev.Request.URL; u != l.page && !strings.HasPrefix(u, "data:") {
			l.problems = append(l.problems, "request: "+u)
		}
	case *network.EventLoadingFailed:
		l.problems = append(l.problems, fmt.Sprintf("failed load (%s): %s %s", ev.Type, ev.ErrorText, ev.BlockedReason))
	}
}

func (l *browserLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.problems
	l.problems = nil
	return p
}

// The page, opened from file:// in a headless Chromium, loads without an
// error or a request, shows a cell per rule and run, opens a cell's
// detail on a click, and hides rows when filtered; the hostile message of
// the fixture runs nothing.
func TestPageInBrowser(t *testing.T) {
	browser := chromium(t)
	dir := *artefacts
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, _ = filepath.Abs(dir)
	page := filepath.Join(dir, "report.html")
	runs := fixtureRuns()
	if err := WriteFile(page, runs...); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1500, 1000),
		chromedp.Flag("disable-gpu", true))
	ctx, cancel := context.WithTimeout(context.Background(), browserBound)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	log := &browserLog{page: url}
	if err := chromedp.Listen(bctx, log.listen); err != nil {
		t.Fatal(err)
	}
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	must("load", chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("#matrix tbody"))))

	cells, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#matrix tbody td.cell').length`))
	must("count cells", err)
	if want := len(rules.All()) * len(runs); cells != want {
		t.Errorf("%d cells, want %d (rules × targets)", cells, want)
	}

	// A click on ORD-03 of the second run opens its detail.
	ord03, _ := rules.Lookup("ORD-03")
	must("click ORD-03", chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`button[data-detail="d-ORD-03-1"]`)),
		chromedp.WaitVisible(chromedp.ID("d-ORD-03-1"))))
	title, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#d-ORD-03-1 h2")))
	must("read the detail's title", err)
	text, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#d-ORD-03-1 .rule-text")))
	must("read the rule's text", err)
	if !strings.Contains(title, "ORD-03") || strings.Join(strings.Fields(text), " ") != ord03.Text {
		t.Errorf("the detail shows %q / %q, want ORD-03 and its text %q", title, text, ord03.Text)
	}
	open, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('section.detail:not([hidden])').length`))
	must("count open details", err)
	if open != 1 {
		t.Errorf("%d details open, want 1", open)
	}

	visibleRows := `Array.from(document.querySelectorAll('#matrix tbody tr')).filter(r => r.offsetParent !== null).length`
	// "only unexpected" leaves ORD-03, the one rule a run did not expect.
	must("filter unexpected", chromedp.Do(bctx, chromedp.Click(chromedp.ID("f-unexpected"))))
	shown, err := chromedp.Run(bctx, chromedp.Evaluate[int](visibleRows))
	must("count rows", err)
	if shown != 1 {
		t.Errorf("%d rows shown with only unexpected, want 1 (ORD-03)", shown)
	}
	must("unfilter", chromedp.Do(bctx, chromedp.Click(chromedp.ID("f-unexpected"))))
	// The area SHD leaves its rules.
	must("filter SHD", chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('f-area'); s.value = 'SHD'; s.dispatchEvent(new Event('change')); })()`)))
	shown, err = chromedp.Run(bctx, chromedp.Evaluate[int](visibleRows))
	must("count rows", err)
	if want := len(areaRules("SHD")); shown != want {
		t.Errorf("%d rows shown for area SHD, want %d", shown, want)
	}
	// Unchecking SHOULD hides the SHD rules that are SHOULD.
	must("filter MUST", chromedp.Do(bctx, chromedp.Click(chromedp.ID("f-should"))))
	shown, err = chromedp.Run(bctx, chromedp.Evaluate[int](visibleRows))
	must("count rows", err)
	if want := len(levelRules(areaRules("SHD"), rules.Must)); shown != want {
		t.Errorf("%d rows shown for area SHD at level MUST, want %d", shown, want)
	}
	must("reset filters", chromedp.Do(bctx,
		chromedp.Click(chromedp.ID("f-should")),
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('f-area'); s.value = ''; s.dispatchEvent(new Event('change')); })()`)))

	pwned, err := chromedp.Run(bctx, chromedp.Evaluate[string](`typeof window.pwned`))
	must("read window.pwned", err)
	if pwned != "undefined" {
		t.Errorf("the hostile message ran: window.pwned is %s", pwned)
	}

	// The screenshot: the top of the matrix with ORD-03's detail open.
	must("reopen ORD-03", chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`button[data-detail="d-ORD-03-1"]`)),
		chromedp.WaitVisible(chromedp.ID("d-ORD-03-1")),
		chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)))
	png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	must("screenshot", err)
	if err := os.WriteFile(filepath.Join(dir, "screenshot.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("page and screenshot in %s", dir)

	for _, p := range log.take() {
		t.Errorf("the page caused %s", p)
	}
}

func levelRules(rs []rules.Rule, level rules.Level) []rules.Rule {
	var out []rules.Rule
	for _, r := range rs {
		if r.Level == level {
			out = append(out, r)
		}
	}
	return out
}
