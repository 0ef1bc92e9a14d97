// Package netsim is sockspec's simulated network: stream and datagram
// sockets for the tcp, udp, unix and unixgram families that live in memory,
// so that the reference (or any Go server that takes a Listen/ListenPacket
// seam) runs on them unchanged.
//
// Everything here is deterministic. Network assigns ports in a fixed order
// and keeps a record of wire events (Network.Events) that a test or a
// report can read.
//
// Network blocks only on channels and time.AfterFunc timers, never on
// sync.Cond, polling loops or sleeps, so it runs inside a testing/synctest
// bubble: a goroutine waiting in Accept, WaitReady, Read or Write is
// durably blocked, and the bubble's virtual clock moves on to the next
// deadline as soon as everything is waiting. A timeout spec then costs no
// wall time. The objects of one Network belong to the bubble in which they
// were first used; share them between bubbles and the runtime panics, as
// it does for any channel or timer of another bubble.
//
// Errors are shaped like the ones the operating system's network gives, so
// that code under test cannot tell the difference: a *net.OpError wrapping
// an *os.SyscallError with the errno (errors.Is(err, syscall.EADDRINUSE)
// holds), os.ErrDeadlineExceeded for deadlines, net.ErrClosed after Close,
// and a bare io.EOF at the end of a stream. The doc comment of each type
// lists where it knowingly differs from a real socket.
//
// The package imports the standard library only, so that another
// implementation's tests can vendor it (docs/DESIGN.md, "Import rules").
package netsim
