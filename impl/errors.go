package impl

import (
	"errors"
	"fmt"
)

var (
	// ErrServerClosed is returned by HandleRequest and ServeForever once
	// ServerClose has been called, including when ServerClose stops a running
	// ServeForever (SHD-09, SHD-10).
	ErrServerClosed = errors.New("impl: server closed: create a new server to serve again")

	// ErrShutdownFromServingGoroutine is returned by Shutdown when it is called
	// on the goroutine that runs ServeForever (from a synchronous handler,
	// VerifyRequest or ServiceActions). The stop has been requested and the
	// loop ends after the current step; waiting for it would deadlock, which
	// is what CPython does (SHD-02).
	ErrShutdownFromServingGoroutine = errors.New("impl: Shutdown called on the serving goroutine: the stop is requested and ServeForever returns after the current step")

	// ErrAlreadyServing is returned when HandleRequest or ServeForever is
	// called while another of them runs on the same server.
	ErrAlreadyServing = errors.New("impl: HandleRequest or ServeForever is already running on this server: a server serves from one loop at a time")

	// ErrNotBound is returned by HandleRequest and ServeForever when the
	// server was created with DeferBind and ServerBind has not run yet.
	ErrNotBound = errors.New("impl: server has no socket yet: call ServerBind and ServerActivate first (Config.DeferBind is set)")
)

// FatalError is the analogue of SystemExit and KeyboardInterrupt: an error
// from a handler (or any step) that is not passed to handle_error. The
// request is shut down and the error leaves HandleRequest or ServeForever
// (ORD-06). Wrap an error with Fatal to make it one.
type FatalError struct {
	Err  error
	Code int // the exit code a process would use; informative only (ERR-06)
}

func (e *FatalError) Error() string { return fmt.Sprintf("fatal: %v", e.Err) }
func (e *FatalError) Unwrap() error { return e.Err }

// Fatal wraps err so that it escapes the server loop instead of reaching
// handle_error. A nil err is given a generic message.
func Fatal(err error) error {
	if err == nil {
		err = errors.New("fatal error")
	}
	return &FatalError{Err: err, Code: 1}
}

// IsFatal reports whether err is, or wraps, a FatalError.
func IsFatal(err error) bool {
	var f *FatalError
	return errors.As(err, &f)
}

// PanicError is what a panic inside a handler or step becomes: an ordinary
// handler failure that takes the handle_error path, carrying the panic value
// and the stack where it happened. A panic whose value is a *FatalError stays
// fatal.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}
