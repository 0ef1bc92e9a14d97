// Package osfault makes OS-level faults in a running server process from
// outside it, knowing only its PID, so that the same fault reaches any
// implementation: CPython's interpreter, a Go program, a black-box binary.
// Each fault holds until it is lifted, so that the server's recovery can be
// judged too, and each says with an error when the machine cannot make it
// (ErrNoPidsCgroup, StraceAvailable), so that the caller can report N/A.
//
//   - ExhaustFDs: the next descriptor the process asks for fails with
//     EMFILE (prlimit64 on RLIMIT_NOFILE); Nofile and SetNofile.
//   - HoldForks: the next fork or thread start fails with EAGAIN (a pids
//     cgroup, v2 where a cgroup2 has the controller, else v1); PidsCgroup
//     for finer use, Sweep for the groups of killed runs.
//   - Attach: strace injects an errno or a delay into named syscalls,
//     on the Nth calls, into every thread and forked child.
//
// # strace facts (strace 6.1, Linux 6.x, glibc 2.36, x86_64)
//
// The when= count of an injection is per traced task, not global: each
// thread, and each child that -f follows, counts its own calls from 1.
// With When "1" two threads each fail their first call, and a child forked
// after the attach fails its first call although the parent already used
// up its own.
//
// A syscall the process is blocked in at the attach (accept waiting for a
// client) is restarted by the attach and counts as call 1: it fails at once
// if call 1 is injected.
//
// strace takes one inject= per syscall: a second for the same syscall
// replaces the first, so an Injection joins Errno and Delay in one. Lines
// of an error are marked "(INJECTED)", of a delay "(DELAYED)", of both
// "(INJECTED) (DELAYED)". Python 3.5+ retries a syscall that fails with
// EINTR when no signal handler raised (PEP 475), so an EINTR injected
// without a signal is invisible to its code (accept returns the
// connection), while 2.7 raises socket.error(4).
//
// # Which syscalls to name, per target
//
// Measured with strace -f on the real binaries on this machine:
//
//	operation                       CPython 3.11 (3.x)   CPython 2.7      Go 1.26
//	socket accept                   accept4              accept           accept4 (non-blocking; waits in epoll_pwait)
//	os.fork / fork()                clone                clone            -
//	os.StartProcess / exec.Cmd      -                    -                clone (CLONE_VM|CLONE_VFORK|CLONE_PIDFD)
//	thread start                    clone3               clone3           clone (CGO_ENABLED=0), clone3 (cgo: pthread_create)
//	select.select                   pselect6             pselect6         -
//	select.poll, PollSelector       poll                 poll             -
//	select.epoll, EpollSelector     epoll_wait           epoll_wait       epoll_pwait
//	socketserver's wait (serve_forever)  poll (PollSelector)  pselect6 (select.select)
//
// So: fail accepts with Syscalls {"accept", "accept4"}; fail forks with
// {"clone"} (glibc's fork is clone with SIGCHLD, never fork or vfork on
// x86_64); fail thread starts with {"clone3"}, adding "clone" for Go, whose
// exec.Cmd also uses clone, after a one-off clone without SIGCHLD that
// probes for pidfd support (so the first clone of a Go process is that
// probe, not the child). glibc's pthread_create falls back to clone when
// clone3 fails with ENOSYS, so inject EAGAIN, not ENOSYS, into clone3.
package osfault
