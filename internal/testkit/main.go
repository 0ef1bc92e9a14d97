package testkit

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// noExitSleep keeps a race-enabled child from sleeping a second at its exit
// (see the package doc).
const noExitSleep = "atexit_sleep_ms=0"

// Main is every package's TestMain: it sets the race policy for the
// processes the tests start, runs the tests, and fails the binary when a
// goroutine outlives them. opts go to goleak (goleak.Cleanup for work to
// do after the check). A package whose binary doubles as a request child
// calls its ChildMain before Main.
func Main(m *testing.M, opts ...goleak.Option) {
	os.Setenv("GORACE", raceOptions(os.Getenv("GORACE")))
	goleak.VerifyTestMain(m, opts...)
}

// raceOptions is GORACE for the test's children, given the test's own.
func raceOptions(gorace string) string {
	if strings.Contains(gorace, "atexit_sleep_ms=") {
		return gorace
	}
	return strings.TrimSpace(gorace + " " + noExitSleep)
}
