// Package fakes holds test doubles and nothing a real run uses: a manual
// clock that moves only when the test moves it, and a spawner that starts
// no process. The simulated network is netsim; the injectors that fail the
// reference's seams on chosen occurrences are internal/inject, because
// real in-process runs use them too.
//
// Only _test.go files and the mutants of spec/mutants import this package;
// ci/check-imports.sh keeps it so.
package fakes
