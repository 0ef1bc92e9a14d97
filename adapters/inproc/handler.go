package inproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/spec/driver"
)

// scriptHandler is the request handler of every inproc server: it reads
// the request's script (driver.Script) and does what it says.
type scriptHandler struct {
	opts    impl.StreamOptions
	stream  *impl.StreamHandler
	dgram   *impl.DatagramHandler
	script  driver.Script
	size    int
	inChild bool
	// shutdown is what a "shutdown" step calls; nil is the server's own.
	shutdown func(s *impl.Server, ctx context.Context) error
}

// newScriptHandler builds handlers with the stream options of the session.
func newScriptHandler(opts impl.StreamOptions, inChild bool, shutdown func(*impl.Server, context.Context) error) impl.NewHandler {
	return func() impl.Handler { return &scriptHandler{opts: opts, inChild: inChild, shutdown: shutdown} }
}

// ValueError and the other error types name what a Python adapter would
// raise, so that traces of both read alike.
type (
	// ValueError is the ordinary exception of a "raise" step.
	ValueError struct{ msg string }
	// SystemExit is the fatal exception of "raise fatal".
	SystemExit struct{}
	// KeyboardInterrupt is the fatal exception of "raise interrupt".
	KeyboardInterrupt struct{}
)

func (e *ValueError) Error() string      { return e.msg }
func (*SystemExit) Error() string        { return "SystemExit raised by the request script" }
func (*KeyboardInterrupt) Error() string { return "KeyboardInterrupt raised by the request script" }

func (h *scriptHandler) Setup(r *impl.Request) error {
	var line []byte
	if r.Conn != nil {
		h.stream = &impl.StreamHandler{StreamOptions: h.opts}
		if err := h.stream.Setup(r); err != nil {
			return err
		}
		var err error
		line, err = h.stream.Rfile.ReadBytes('\n')
		if err != nil && len(line) == 0 {
			return fmt.Errorf("reading the request script: %w", err)
		}
		h.size = len(line)
	} else {
		h.dgram = &impl.DatagramHandler{}
		if err := h.dgram.Setup(r); err != nil {
			return err
		}
		h.size = len(r.Data)
		line, _, _ = bytes.Cut(r.Data, []byte("\n"))
	}
	script, err := driver.ParseScript(string(line))
	if err != nil {
		return &ValueError{msg: err.Error()}
	}
	h.script = script
	if script[0].Verb == driver.VerbSetupRaise {
		return &ValueError{msg: "setup raised, as the request script asked"}
	}
	return nil
}

func (h *scriptHandler) out() interface{ Write([]byte) (int, error) } {
	if h.stream != nil {
		return h.stream.Wfile
	}
	return h.dgram.Wfile
}

func (h *scriptHandler) Handle(r *impl.Request) error {
	w := h.out()
	for _, st := range h.script {
		var err error
		switch st.Verb {
		case driver.VerbEcho:
			_, err = fmt.Fprintf(w, "%s\n", st.Arg)
		case driver.VerbSize:
			_, err = fmt.Fprintf(w, "%d\n", h.size)
		case driver.VerbRaise:
			switch st.Arg {
			case "fatal":
				return impl.Fatal(&SystemExit{})
			case "interrupt":
				return impl.Fatal(&KeyboardInterrupt{})
			}
			return &ValueError{msg: "raised by the request script"}
		case driver.VerbSleep:
			time.Sleep(st.SleepDuration()) // the handler's work, as scripted
		case driver.VerbHold:
			if h.stream == nil {
				return &ValueError{msg: "hold needs a stream request"}
			}
			if _, err = fmt.Fprintf(w, "held\n"); err != nil {
				return err
			}
			h.stream.Flush()
			if _, err = h.stream.Rfile.ReadBytes('\n'); err != nil {
				return fmt.Errorf("waiting for the release line: %w", err)
			}
			_, err = fmt.Fprintf(w, "released\n")
		case driver.VerbShutdown:
			ctx, cancel := context.WithTimeout(context.Background(), shutdownFromHandlerBound)
			shutdown := (*impl.Server).Shutdown
			if h.shutdown != nil {
				shutdown = h.shutdown
			}
			serr := shutdown(r.Server, ctx)
			cancel()
			if serr != nil {
				_, err = fmt.Fprintf(w, "shutdown raised %s\n", exceptionOf(serr).Type)
			} else {
				_, err = fmt.Fprintf(w, "shutdown returned\n")
			}
		case driver.VerbPID:
			_, err = fmt.Fprintf(w, "%d\n", os.Getpid())
		case driver.VerbExit:
			if !h.inChild {
				return &ValueError{msg: "exit is for requests served in a child process"}
			}
			if h.stream != nil {
				h.stream.Flush()
			}
			os.Exit(st.ExitCode())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// shutdownFromHandlerBound bounds a Shutdown called by a handler: the
// reference never blocks there, a mutant may.
const shutdownFromHandlerBound = 10 * time.Second

func (h *scriptHandler) Finish(r *impl.Request) error {
	if h.stream != nil {
		return h.stream.Finish(r)
	}
	if h.dgram != nil {
		return h.dgram.Finish(r)
	}
	return nil
}

// exceptionOf classifies an error of the reference the way the protocol
// classifies a Python exception.
func exceptionOf(err error) *driver.Exception {
	if err == nil {
		return nil
	}
	var (
		fe *impl.FatalError
		pe *impl.PanicError
		ve *ValueError
	)
	switch {
	case errors.As(err, &fe):
		typ := "Fatal"
		var se *SystemExit
		var ki *KeyboardInterrupt
		switch {
		case errors.As(fe.Err, &se):
			typ = "SystemExit"
		case errors.As(fe.Err, &ki):
			typ = "KeyboardInterrupt"
		}
		return &driver.Exception{Type: typ, Message: err.Error(), Kind: driver.Fatal}
	case errors.Is(err, impl.ErrServerClosed):
		return &driver.Exception{Type: "ErrServerClosed", Message: err.Error(), Kind: driver.Closed}
	case errors.Is(err, impl.ErrShutdownFromServingGoroutine):
		return &driver.Exception{Type: "ErrShutdownFromServingGoroutine", Message: err.Error(), Kind: driver.Misuse}
	case errors.Is(err, impl.ErrAlreadyServing):
		return &driver.Exception{Type: "ErrAlreadyServing", Message: err.Error(), Kind: driver.Misuse}
	case errors.Is(err, impl.ErrNotBound):
		return &driver.Exception{Type: "ErrNotBound", Message: err.Error(), Kind: driver.Misuse}
	case errors.As(err, &pe):
		return &driver.Exception{Type: "Panic", Message: fmt.Sprint(pe.Value), Kind: driver.Ordinary}
	case errors.As(err, &ve):
		return &driver.Exception{Type: "ValueError", Message: ve.msg, Kind: driver.Ordinary}
	case errors.Is(err, ErrSignalRaised):
		return &driver.Exception{Type: "SignalRaised", Message: err.Error(), Kind: driver.Ordinary}
	}
	return &driver.Exception{Type: "Error", Message: err.Error(), Kind: driver.Ordinary}
}
