package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// shutdownGrace bounds the wait of Shutdown. In sync mode a request in
// progress holds the serving loop; the stop must not wait for it before
// closing the socket, so that no new client is taken meanwhile and a unix
// socket file disappears at once.
const shutdownGrace = 2 * time.Second

// slowStopNotice is how long a graceful stop may take before the user is
// told what it waits for and how to hurry it.
const slowStopNotice = time.Second

// serve runs the server that cfg describes until ctx is done, then stops it
// gracefully: Shutdown, ServerClose (which removes a unix socket file and
// waits for request goroutines or children), and the end of the serving
// loop. The first line written to stdout is the bound address. When again
// is closed during the stop, request children are killed and serve returns
// without waiting further. A bind failure is returned with a message that
// names --addr.
func serve(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer, again <-chan struct{}) error {
	notes := &notices{w: stderr}
	srv, err := impl.New(cfg.implConfig(notes))
	if err != nil {
		return bindError(cfg, err)
	}
	if err := announce(stdout, srv.Address()); err != nil {
		_ = srv.ServerClose()
		return fmt.Errorf("writing the bound address to standard output: %w", err)
	}
	loop := make(chan error, 1)
	go func() { loop <- srv.ServeForever(context.Background(), cfg.PollInterval) }()
	select {
	case <-ctx.Done():
		return stop(srv, loop, notes, again)
	case err := <-loop:
		// Only a FatalError or a failing handle_error (standard error is
		// gone) ends the loop by itself.
		_ = srv.ServerClose()
		return fmt.Errorf("the serving loop stopped by itself: %w", err)
	}
}

// implConfig is the reference server's configuration for cfg.
func (c serveConfig) implConfig(notes *notices) impl.Config {
	ic := impl.Config{
		Family:       c.Family,
		Address:      c.Addr,
		Dispatch:     c.Dispatch,
		Handler:      lineHandler(transforms[c.Handler], c.Timeout),
		PollInterval: c.PollInterval,
	}
	if c.Dispatch == impl.Forking {
		ic.Fork = impl.ForkRecipe{Name: recipeName(c.Handler), Params: []byte(c.Timeout.String())}
		ic.Overrides.CollectChildren = func(s *impl.Server, blocking bool) {
			// Only ServerClose collects while blocking: tell the user
			// what the stop now waits for.
			if blocking {
				s.Base().CollectChildren(false) // count only the live ones
				if n := len(s.ActiveChildren()); n > 0 {
					notes.say(fmt.Sprintf("waiting for %s to finish (send SIGINT or SIGTERM again to stop at once)", countChildren(n)))
				}
			}
			s.Base().CollectChildren(blocking)
		}
	}
	return ic
}

// stop is the graceful stop after the first signal; see serve.
func stop(srv *impl.Server, loop <-chan error, notes *notices, again <-chan struct{}) error {
	done := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		// A timeout means a request holds the loop: ServerClose ends the
		// loop after that request.
		_ = srv.Shutdown(sctx)
		cancel()
		cerr := srv.ServerClose()
		lerr := <-loop
		if errors.Is(lerr, impl.ErrServerClosed) {
			lerr = nil
		}
		done <- errors.Join(lerr, cerr)
	}()
	slow := time.NewTimer(slowStopNotice)
	defer slow.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("stopping the server: %w", err)
			}
			return nil
		case <-slow.C:
			notes.say("waiting for requests in progress to finish (send SIGINT or SIGTERM again to stop at once)")
		case <-again:
			n := killChildren(srv)
			// Killed children are reaped by the server within moments;
			// leave them to init only if that takes too long.
			select {
			case <-done:
			case <-time.After(time.Second):
			}
			msg := "stopped at once by a second signal: requests in progress were abandoned"
			if n > 0 {
				msg += fmt.Sprintf(", %s killed", countChildren(n))
			}
			return errors.New(msg)
		}
	}
}

// killChildren kills the server's live request children and returns how
// many it killed. A pid is checked to still be a child of this process,
// because the table keeps pids that were already reaped until collected.
func killChildren(srv *impl.Server) int {
	n := 0
	for _, pid := range srv.ActiveChildren() {
		st, err := readProcStat(pid)
		if err != nil || st.PPID != os.Getpid() || st.State == 'Z' {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

func countChildren(n int) string {
	if n == 1 {
		return "1 request child"
	}
	return fmt.Sprintf("%d request children", n)
}

// notices prints at most one line about what a stop waits for, whichever
// part of the stop notices first.
type notices struct {
	w    io.Writer
	once sync.Once
}

func (n *notices) say(msg string) {
	n.once.Do(func() { fmt.Fprintf(n.w, "sockspec serve: %s\n", msg) })
}

// announce writes the bound address as the first line of stdout and
// flushes it, because a caller waits for that line to connect.
func announce(w io.Writer, addr string) error {
	if _, err := fmt.Fprintln(w, addr); err != nil {
		return err
	}
	if f, ok := w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// bindError rewrites a failure of impl.New, almost always a bind failure,
// as a sentence that says what to change on the command line.
func bindError(cfg serveConfig, err error) error {
	where := fmt.Sprintf("%v %s", cfg.Family, cfg.Addr)
	unix := cfg.Family == impl.UnixStream || cfg.Family == impl.UnixDatagram
	var errno syscall.Errno
	switch {
	case errors.Is(err, syscall.EADDRINUSE) && unix:
		return fmt.Errorf("cannot bind %s: address already in use: a file is already there (the socket of another server, or of one that was killed); remove it if no server uses it, or choose another --addr", where)
	case errors.Is(err, syscall.EADDRINUSE) && cfg.Family == impl.TCP:
		return fmt.Errorf("cannot bind %s: address already in use: another socket holds the port (or connections of a server stopped moments ago are still in TIME_WAIT); stop it or choose another --addr (port 0 picks a free one)", where)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot bind %s: address already in use: another socket holds the port; stop it or choose another --addr (port 0 picks a free one)", where)
	case errors.As(err, &errno):
		return fmt.Errorf("cannot bind %s: %v: check --addr", where, errno)
	}
	return fmt.Errorf("cannot start the server on %s: %v", where, err)
}
