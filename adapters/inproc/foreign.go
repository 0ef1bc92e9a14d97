package inproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/sockspec/sockspec/spec/driver"
)

// The harness process is the reference's process, so a foreign child is a
// child of the harness: a shell that exits once its standard input closes.

type foreignChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	once   sync.Once
	done   chan struct{}
	status int
	err    error
}

// StartForeignChild starts a child that the server must leave alone.
func (s *session) StartForeignChild(ctx context.Context) (driver.ForeignChild, error) {
	cmd := exec.Command("/bin/sh", "-c", "read _; exit "+strconv.Itoa(driver.ForeignChildStatus))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("inproc: starting a foreign child: %w", err)
	}
	fc := &foreignChild{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	s.mu.Lock()
	s.foreign = append(s.foreign, fc)
	s.mu.Unlock()
	return fc, nil
}

func (f *foreignChild) Exit(context.Context) error { return f.stdin.Close() }

// Reap waits once, in a goroutine of its own so that ctx bounds the wait;
// later calls return what the first found.
func (f *foreignChild) Reap(ctx context.Context) (int, bool, error) {
	f.once.Do(func() {
		go func() {
			defer close(f.done)
			err := f.cmd.Wait()
			var exit *exec.ExitError
			switch {
			case err == nil:
				f.status = 0
			case errors.As(err, &exit):
				f.status = exit.ExitCode()
			default:
				f.err = err
			}
		}()
	})
	select {
	case <-f.done:
	case <-ctx.Done():
		return 0, false, fmt.Errorf("inproc: the foreign child did not exit: %w", ctx.Err())
	}
	if errors.Is(f.err, syscall.ECHILD) {
		return 0, true, nil
	}
	return f.status, false, f.err
}
