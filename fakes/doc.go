// Package fakes holds the test doubles shared by impl's tests and the
// specification suite: an in-memory network, fault injectors that fail the
// Nth call of accept, recvfrom, fork or thread start, and a manual clock.
//
// Everything here is deterministic. A fault fires on chosen occurrences of
// a call (see Occurrences), never at random, so a failing run can be
// replayed exactly. Network assigns ports in a fixed order and keeps a
// record of wire events (Network.Events) that a test or a report can read.
//
// Network blocks only on channels and time.AfterFunc timers, never on
// sync.Cond, polling loops or sleeps, so it runs inside a testing/synctest
// bubble: a goroutine waiting in Accept, WaitReady, Read or Write is
// durably blocked, and the bubble's virtual clock moves on to the next
// deadline as soon as everything is waiting. A timeout spec then costs no
// wall time. The objects of one Network (and one Clock) belong to the
// bubble in which they were first used; share them between bubbles and the
// runtime panics, as it does for any channel or timer of another bubble.
//
// Errors are shaped like the ones the operating system's network gives, so
// that code under test cannot tell the difference: a *net.OpError wrapping
// an *os.SyscallError with the errno (errors.Is(err, syscall.EADDRINUSE)
// holds), os.ErrDeadlineExceeded for deadlines, net.ErrClosed after Close,
// and a bare io.EOF at the end of a stream. The doc comment of each type
// lists where it knowingly differs from a real socket.
package fakes
