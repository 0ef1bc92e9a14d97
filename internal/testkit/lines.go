package testkit

import (
	"bufio"
	"io"
	"testing"
	"time"
)

// Lines reads a pipe (a child's output, a server's announcement) line by
// line on a goroutine of its own, so that the test waits for each line with
// a bound instead of blocking in Read.
type Lines struct {
	t     testing.TB
	name  string
	bound time.Duration
	lines chan string
	quit  chan struct{} // closed at the test's end: stop queueing
	done  chan struct{} // closed when r has ended and the goroutine with it
}

// ReadLines starts reading r, named name in failures; Next waits up to
// bound for a line. At the test's end r is closed and the reading goroutine
// awaited. Cleanups run last registered first: one that must see the
// output end by itself (a killed process group closing its pipe) is
// registered after ReadLines, and waits on Done.
func ReadLines(t testing.TB, name string, r io.ReadCloser, bound time.Duration) *Lines {
	l := &Lines{
		t: t, name: name, bound: bound,
		lines: make(chan string, 1024), quit: make(chan struct{}), done: make(chan struct{}),
	}
	go func() {
		defer close(l.done)
		defer close(l.lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case l.lines <- sc.Text():
			case <-l.quit:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(l.quit)
		r.Close()
		select {
		case <-l.done:
		case <-time.After(bound):
			t.Errorf("%s: still being read %v after it was closed", name, bound)
		}
	})
	return l
}

// Next is the next line, without its line end. It fails the test when the
// output ends first or no line comes within the bound.
func (l *Lines) Next() string {
	l.t.Helper()
	select {
	case line, ok := <-l.lines:
		if !ok {
			l.t.Fatalf("%s ended without another line", l.name)
		}
		return line
	case <-time.After(l.bound):
		l.t.Fatalf("%s: no line within %v", l.name, l.bound)
	}
	return ""
}

// Done is closed once the output has ended (or failed) and its reading
// goroutine with it.
func (l *Lines) Done() <-chan struct{} { return l.done }
