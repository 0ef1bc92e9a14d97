// Package testkit is the scaffolding the tests of this module share: a
// TestMain that checks for leaked goroutines (Main, called from each
// package's main_test.go), a buffer goroutines may share, the Python
// interpreters tests run, a line reader with a bound for a
// pipe (Lines; a connection's reply lines are driver.ReadReplyLine's), and a bounded wait for what nothing signals
// (WaitFor). Only _test.go files import it (TestOnlyTestsImportTheKit).
//
// # One race policy
//
// Main adds atexit_sleep_ms=0 to GORACE for the processes a test starts,
// keeping whatever else GORACE holds. A program built with -race sleeps
// atexit_sleep_ms (a second by default) when it exits, so that late race
// reports are written; the test binaries of impl, adapters/inproc, spec,
// spec/mutants, cmd/sockspec and bench run again as the request children of
// forking servers (impl.ChildMain), and each such child would add a second
// to every forked request, and every run of a forking spec would wait for
// them. A child still reports its races, and still exits with the race
// detector's status: only a report written after its exit began is lost,
// and a request child exits once its handler has returned.
//
// The options already in GORACE stay (halt_on_error=1 or log_path=… from
// whoever runs the tests), and an atexit_sleep_ms there wins: the one who
// set it wants the sleep. The same policy holds in every package, children
// or not, so that a package that starts forking children later needs no
// TestMain of its own.
//
// # Python under CI
//
// Tests that need a CPython interpreter are skipped on a machine without
// one, and fail where the environment variable CI is set (CI=true): a CI
// job has its interpreters installed, and a test that skips there proves
// nothing.
package testkit
