package goadapter

import (
	"errors"

	"github.com/sockspec/sockspec/spec/driver"
)

// Exception is an error that says which exception it stands for in the
// protocol's terms (driver.Exception): the kind a rule judges by (fatal,
// closed, misuse, ordinary) and the type the trace shows. The request
// scripts raise Exceptions (ValueError, SystemExit, KeyboardInterrupt); a
// port wraps its own errors in one where the kind matters, e.g. its error
// for a closed server as driver.Closed. An error that is no Exception is
// an ordinary one, of type "Error".
type Exception struct {
	Type string
	Kind driver.ExceptionKind
	Err  error
}

func (e *Exception) Error() string {
	if e.Err == nil {
		return e.Type
	}
	return e.Err.Error()
}

func (e *Exception) Unwrap() error { return e.Err }

// IsFatal reports whether err is of the fatal kind (SystemExit,
// KeyboardInterrupt): what handle_error must let pass by, out of
// handle_request and serve_forever (ORD-06). A port's process_request asks
// it before calling handle_error.
func IsFatal(err error) bool {
	var e *Exception
	return errors.As(err, &e) && e.Kind == driver.Fatal
}

// ErrSignalRaised is what serve_forever ends with when the SIGUSR2 handler
// raises into it (SHD-12): the cause of the loop context's end.
var ErrSignalRaised = errors.New("SIGUSR2 handler raised")

// returned carries a hook's return value where Go returns an error.
type returned struct{ value string }

func (r *returned) Error() string { return "returned " + r.value }

// Returned is a return value (Python's repr) carried as an error, for the
// one hook whose value the contract passes on: handle_timeout's, which
// handle_request returns (ORD-09). A port whose handle_timeout returns
// Returned(cfg.HandleTimeoutResult) and whose HandleRequest returns what
// handle_timeout returned gets the value into the trace and the reply.
func Returned(value string) error { return &returned{value: value} }

func returnedValue(err error) (string, bool) {
	var r *returned
	if errors.As(err, &r) {
		return r.value, true
	}
	return "", false
}

// exceptionOf classifies an error the way the protocol classifies a
// Python exception.
func exceptionOf(err error) *driver.Exception {
	if err == nil {
		return nil
	}
	var e *Exception
	switch {
	case errors.As(err, &e):
		return &driver.Exception{Type: e.Type, Message: err.Error(), Kind: e.Kind}
	case errors.Is(err, ErrSignalRaised):
		return &driver.Exception{Type: "SignalRaised", Message: err.Error(), Kind: driver.Ordinary}
	}
	return &driver.Exception{Type: "Error", Message: err.Error(), Kind: driver.Ordinary}
}

// resultOf is how a call of the server returned, for a reply.
func resultOf(err error) driver.Result {
	if err == nil {
		return driver.Result{Value: "None"}
	}
	if v, ok := returnedValue(err); ok {
		return driver.Result{Value: v}
	}
	return driver.Result{Exception: exceptionOf(err)}
}
