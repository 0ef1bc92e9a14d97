package goadapter

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/sockspec/sockspec/spec/driver"
)

// ServeStream is the request handler of a stream server: what its
// finish_request runs for the accepted connection conn. Like Python's
// StreamRequestHandler it runs setup (which reads the request script, the
// first line), then handle (the script's steps, driver.Script) and finish,
// tracing each with conn as the request; finish runs when handle fails,
// neither runs when setup fails (ORD-08). It leaves conn open: shutting
// it down and closing it are shutdown_request's and close_request's.
//
// The configuration's handler timeout, when set, bounds each read and
// write on conn, as StreamRequestHandler.timeout does (TMO-08). The
// returned error is the first of setup's, handle's and finish's.
func (h *Hooks) ServeStream(conn net.Conn) error {
	var rw io.ReadWriter = conn
	if t := h.cfg.HandlerTimeout; t != nil {
		rw = &timedConn{conn: conn, timeout: *t}
	}
	var r *bufio.Reader
	var size int
	var script driver.Script
	err := h.Around(driver.HookSetup, conn, func() error {
		r = bufio.NewReader(rw)
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the request script: %w", err)
		}
		size = len(line)
		script, err = parseScript(line)
		return err
	})
	if err != nil {
		return err
	}
	run := scriptRun{hooks: h, script: script, size: size, w: rw, r: r}
	err = h.Around(driver.HookHandle, conn, run.do)
	ferr := h.Around(driver.HookFinish, conn, func() error { return nil })
	return cmp.Or(err, ferr)
}

// ServeDatagram is the request handler of a datagram server: what its
// finish_request runs for one datagram, data, received from a client.
// request is the port's object for the request (the one it traces its
// hooks with), reply sends bytes back to the client. Like Python's
// DatagramRequestHandler it runs setup (the script is the datagram's first
// line), handle and finish, tracing each, and finish sends what handle
// wrote as one datagram, through reply.
func (h *Hooks) ServeDatagram(request any, data []byte, reply func([]byte) error) error {
	var script driver.Script
	err := h.Around(driver.HookSetup, request, func() error {
		line, _, _ := bytes.Cut(data, []byte("\n"))
		var err error
		script, err = parseScript(string(line))
		return err
	})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	run := scriptRun{hooks: h, script: script, size: len(data), w: &out}
	err = h.Around(driver.HookHandle, request, run.do)
	ferr := h.Around(driver.HookFinish, request, func() error { return reply(out.Bytes()) })
	return cmp.Or(err, ferr)
}

// ValueError is the ordinary exception of the request scripts, named as a
// Python adapter's handler names it, so that traces of both read alike.
func ValueError(msg string) error {
	return &Exception{Type: "ValueError", Kind: driver.Ordinary, Err: errors.New(msg)}
}

func parseScript(line string) (driver.Script, error) {
	script, err := driver.ParseScript(line)
	if err != nil {
		return nil, ValueError(err.Error())
	}
	if script[0].Verb == driver.VerbSetupRaise {
		return nil, ValueError("setup raised, as the request script asked")
	}
	return script, nil
}

// scriptRun is one request's script being carried out by handle.
type scriptRun struct {
	hooks  *Hooks
	script driver.Script
	size   int
	w      io.Writer
	r      *bufio.Reader // nil for a datagram
}

func (s *scriptRun) do() error {
	for _, st := range s.script {
		var err error
		switch st.Verb {
		case driver.VerbEcho:
			_, err = fmt.Fprintf(s.w, "%s\n", st.Arg)
		case driver.VerbSize:
			_, err = fmt.Fprintf(s.w, "%d\n", s.size)
		case driver.VerbRaise:
			switch st.Arg {
			case "fatal":
				return &Exception{Type: "SystemExit", Kind: driver.Fatal, Err: errors.New("SystemExit raised by the request script")}
			case "interrupt":
				return &Exception{Type: "KeyboardInterrupt", Kind: driver.Fatal, Err: errors.New("KeyboardInterrupt raised by the request script")}
			}
			return ValueError("raised by the request script")
		case driver.VerbSleep:
			time.Sleep(st.SleepDuration()) // the handler's work, as scripted
		case driver.VerbHold:
			if s.r == nil {
				return ValueError("hold needs a stream request")
			}
			if _, err = fmt.Fprintf(s.w, "held\n"); err != nil {
				return err
			}
			if _, err = s.r.ReadString('\n'); err != nil {
				return fmt.Errorf("waiting for the release line: %w", err)
			}
			_, err = fmt.Fprintf(s.w, "released\n")
		case driver.VerbShutdown:
			if serr := s.hooks.shutdown(); serr != nil {
				_, err = fmt.Fprintf(s.w, "shutdown raised %s\n", exceptionOf(serr).Type)
			} else {
				_, err = fmt.Fprintf(s.w, "shutdown returned\n")
			}
		case driver.VerbPID:
			_, err = fmt.Fprintf(s.w, "%d\n", os.Getpid())
		case driver.VerbExit:
			// The kit serves no request in a child process of its own.
			return ValueError("exit is for requests served in a child process")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// timedConn bounds each read and write by a timeout of its own, as a
// Python socket with a timeout does.
type timedConn struct {
	conn    net.Conn
	timeout time.Duration
}

func (c *timedConn) Read(p []byte) (int, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.conn.Read(p)
}

func (c *timedConn) Write(p []byte) (int, error) {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.conn.Write(p)
}
