// Package driver is the contract between the specification suite and a
// target: what a target is (Target), how a spec drives one server of it
// (Session), what the server reports (Event, Trace) and how a request tells
// the handler what to do (Script).
//
// The types map one to one onto the JSON-lines wire protocol that drives
// implementations in other languages: a Session method is a command, its
// result is the command's reply, an Event is an event line. Optional
// abilities of a target (delivering signals, injecting faults) are extra
// interfaces found by type assertion, so that a target without them still
// satisfies Target and the rules that need them are N/A.
//
// The package imports the standard library only.
package driver
