// Package spec is the executable specification of the BaseServer contract:
// a Ginkgo suite with one or more specs per rule of package rules, run
// against any driver.Target.
//
// Specs live in this package's ordinary files, not in _test files, so that
// the sockspec binary carries the whole suite (sockspec run); go test runs
// the same specs through spec_test.go. Every spec is written against the
// driver contract only: it starts a server session, drives it with
// handle_request, serve_forever, shutdown and server_close, sends scripted
// requests from real clients, and judges by the hook trace and what the
// clients saw.
//
// Outcomes are per rule: PASS, FAIL (a MUST broken), NON-STRICT (a SHOULD
// broken), N/A (the target lacks a capability the rule needs), HANG (the
// target stopped answering within a bound: a deadlocked shutdown is a
// verdict) and ERROR (the harness or the adapter broke). A spec that ends
// HANG, ERROR or N/A says so through Hang, HarnessError or NA, which record
// the outcome as data beside the message users read; Judge turns a run's
// report into a Verdict with the run's Config alone.
//
// The suite knows no concrete target: a run's Config carries a
// driver.Target, which the program that runs the suite opens through its
// driver.Registry (cmd/sockspec/targets.go lists the schemes).
package spec
