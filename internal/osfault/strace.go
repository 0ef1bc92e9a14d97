package osfault

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/internal/procfs"
)

// Injection is a syscall fault that strace makes in a traced process.
type Injection struct {
	// Syscalls are the names of the syscalls to fail or delay, as strace
	// spells them ("accept4", "clone3"): see the package doc for which a
	// target language uses.
	Syscalls []string
	// Errno is the error the syscall returns instead of running: "EMFILE",
	// "ENFILE", "EAGAIN", "EINTR". Empty injects no error (Delay only).
	Errno string
	// Delay makes the call take this long. Without Errno the thread is
	// held at the syscall's entry (strace's delay_enter), then the call
	// runs. With Errno it is held at the exit, the error already in place
	// (delay_exit): a strace that detaches while it holds a thread at the
	// entry of a skipped call lets the kernel run syscall -1, and the
	// thread sees ENOSYS, which a Go runtime takes for a fatal netpoll
	// failure.
	Delay time.Duration
	// When picks the calls, counted per thread from 1, as strace's when=
	// does: "3" the third only, "3..5", "2+" the second and every one after,
	// "2+3" every third from the second, "1..8+2". Empty is every call.
	When string
}

var (
	syscallName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	errnoName   = regexp.MustCompile(`^E[A-Z0-9]+$`)
	whenExpr    = regexp.MustCompile(`^([0-9]+)(?:\.\.([0-9]+))?(?:\+([0-9]*))?$`)
	// injectedErrno finds the error of a failed call's result: ") = -1 EMFILE".
	injectedErrno = regexp.MustCompile(`\) *= -1 (E[A-Z0-9]+)\b`)
)

// whenMax is the largest number strace 6.1 takes in a when= expression.
const whenMax = 65535

// Validate says what is wrong with inj, if anything.
func (inj Injection) Validate() error {
	if len(inj.Syscalls) == 0 {
		return errors.New(`osfault: Injection.Syscalls is empty: name the syscalls to inject into, e.g. {"accept", "accept4"}`)
	}
	for _, s := range inj.Syscalls {
		if !syscallName.MatchString(s) {
			return fmt.Errorf("osfault: Injection.Syscalls: %q is not a syscall name (lower-case letters, digits and '_', as strace spells them)", s)
		}
	}
	if inj.Errno != "" && !errnoName.MatchString(inj.Errno) {
		return fmt.Errorf(`osfault: Injection.Errno %q is not an errno name: write it as strace and errno(3) do, e.g. "EMFILE"`, inj.Errno)
	}
	if inj.Delay < 0 {
		return fmt.Errorf("osfault: Injection.Delay %v is negative", inj.Delay)
	}
	if inj.Errno == "" && inj.Delay == 0 {
		return errors.New("osfault: the Injection has neither Errno nor Delay: it would do nothing; set one or both")
	}
	if inj.When == "" {
		return nil
	}
	m := whenExpr.FindStringSubmatch(inj.When)
	if m == nil {
		return fmt.Errorf(`osfault: Injection.When %q is not FIRST[..LAST][+[STEP]] (e.g. "1", "3..5", "2+", "1..8+2")`, inj.When)
	}
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			return whenMax + 1
		}
		return n
	}
	first := num(m[1])
	if first < 1 || first > whenMax {
		return fmt.Errorf("osfault: Injection.When %q: the first call is counted from 1 and at most %d", inj.When, whenMax)
	}
	if m[2] != "" {
		if last := num(m[2]); last < first || last > whenMax {
			return fmt.Errorf("osfault: Injection.When %q: the last call must be from %d to %d", inj.When, first, whenMax)
		}
	}
	if m[3] != "" {
		if step := num(m[3]); step < 1 || step > whenMax {
			return fmt.Errorf("osfault: Injection.When %q: the step must be from 1 to %d", inj.When, whenMax)
		}
	}
	return nil
}

// straceArgs are the -e options of inj for strace.
func (inj Injection) straceArgs() []string {
	set := strings.Join(inj.Syscalls, ",")
	spec := set
	if inj.Errno != "" {
		spec += ":error=" + inj.Errno
	}
	if inj.Delay > 0 {
		us := (inj.Delay + time.Microsecond - 1) / time.Microsecond
		where := "delay_enter"
		if inj.Errno != "" {
			where = "delay_exit"
		}
		spec += fmt.Sprintf(":%s=%dus", where, us)
	}
	if inj.When != "" {
		spec += ":when=" + inj.When
	}
	return []string{"-e", "trace=" + set, "-e", "signal=none", "-e", "inject=" + spec}
}

// StraceAvailable says why Attach cannot work on this machine, or nil: it
// needs strace on PATH and a ptrace that lets this process attach to
// processes it did not start (Yama's ptrace_scope, where present).
func StraceAvailable() error {
	if _, err := exec.LookPath("strace"); err != nil {
		return fmt.Errorf("osfault: strace is not installed (%v): install it (apt-get install strace)", err)
	}
	scope, err := procfs.PtraceScope()
	if err != nil {
		return nil // no Yama: classic ptrace rules, where root may attach
	}
	switch scope {
	case "0":
		return nil
	case "3":
		return errors.New("osfault: ptrace is disabled (kernel.yama.ptrace_scope=3, fixed until reboot): strace cannot attach")
	default:
		if !hasCap(capSysPtrace) {
			return fmt.Errorf("osfault: kernel.yama.ptrace_scope=%s lets only CAP_SYS_PTRACE attach to a running process, "+
				"and this process lacks it: run as root, or set the sysctl to 0", scope)
		}
	}
	return nil
}

const capSysPtrace = 19

// hasCap reports whether this process has capability c in its effective set.
func hasCap(c uint) bool {
	caps, err := procfs.EffectiveCaps()
	return err == nil && caps&(1<<c) != 0
}

// Firing is one injection that strace made.
type Firing struct {
	// Time is when the syscall entered, by strace's clock (-ttt).
	Time time.Time
	// PID is the thread (task) that made the call.
	PID     int
	Syscall string
	// Errno is the injected error; empty for a delay alone.
	Errno string
}

// Tracer is a strace attached to a running process, injecting faults into
// it until Detach.
type Tracer struct {
	pid  int
	cmd  *exec.Cmd
	done chan struct{} // closed when strace has exited and its output is read

	mu      sync.Mutex
	firings []Firing
	changed chan struct{} // closed and replaced at each firing
	diag    []string      // strace's own messages, the last few
	exitErr error

	attached chan struct{} // closed at strace's first "attached" message
	detach   func() error
}

// Attach starts strace on the running process pid: -f follows all its
// threads and the processes it forks, and inj's faults apply to all of
// them, counted per thread. It returns once strace has attached to every
// thread of the process (each one's TracerPid in /proc is strace), so the
// fault holds from then on. ctx bounds the attach only; the Tracer runs
// until Detach.
//
// A syscall that the process is blocked in when strace attaches (an
// accept that waits for a client) is restarted by the attach and counts
// as call 1: with When "1" it fails at once, with no client.
func Attach(ctx context.Context, pid int, inj Injection) (*Tracer, error) {
	if err := inj.Validate(); err != nil {
		return nil, err
	}
	if err := StraceAvailable(); err != nil {
		return nil, err
	}
	if pid <= 0 {
		return nil, fmt.Errorf("osfault: Attach(%d): not a process ID", pid)
	}
	if _, err := procfs.TaskIDs(pid); err != nil {
		return nil, fmt.Errorf("osfault: Attach(%d): no such process (%v)", pid, err)
	}
	args := append([]string{"-f", "-ttt", "-o", "/dev/stdout", "-p", strconv.Itoa(pid)}, inj.straceArgs()...)
	cmd := exec.Command("strace", args...)
	// Its own process group keeps a terminal's ^C for the harness; the
	// death signal makes strace detach if the harness dies without Detach.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	// The pipes are read to their end before cmd.Wait, as exec requires.
	outR, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("osfault: starting strace: %w", err)
	}
	t := &Tracer{pid: pid, cmd: cmd, done: make(chan struct{}), changed: make(chan struct{}), attached: make(chan struct{})}
	t.detach = once(t.stop)
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); t.readTrace(outR) }()
	go func() { defer readers.Done(); t.readDiag(errR) }()
	go func() {
		readers.Wait()
		err := cmd.Wait()
		t.mu.Lock()
		t.exitErr = err
		close(t.changed)
		t.changed = nil
		t.mu.Unlock()
		close(t.done)
	}()
	if err := t.waitAttached(ctx); err != nil {
		_ = t.Detach()
		return nil, err
	}
	return t, nil
}

// waitAttached waits for strace's "attached" message, then until every
// thread of the process names strace as its tracer.
func (t *Tracer) waitAttached(ctx context.Context) error {
	select {
	case <-t.attached:
	case <-t.done:
		return fmt.Errorf("osfault: strace did not attach to process %d: %s", t.pid, t.diagnostics())
	case <-ctx.Done():
		return fmt.Errorf("osfault: strace did not attach to process %d before the context ended (%w): %s",
			t.pid, ctx.Err(), t.diagnostics())
	}
	tracer := strconv.Itoa(t.cmd.Process.Pid)
	for {
		left, err := untraced(t.pid, tracer)
		if err != nil {
			return fmt.Errorf("osfault: Attach(%d): %w", t.pid, err)
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-t.done:
			return fmt.Errorf("osfault: strace ended before it traced threads %v of process %d: %s", left, t.pid, t.diagnostics())
		case <-ctx.Done():
			return fmt.Errorf("osfault: threads %v of process %d were not traced before the context ended (%w)", left, t.pid, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// untraced lists the threads of pid whose tracer is not tracer.
func untraced(pid int, tracer string) ([]string, error) {
	tids, err := procfs.TaskIDs(pid)
	if err != nil {
		return nil, fmt.Errorf("process %d is gone", pid)
	}
	var left []string
	for _, tid := range tids {
		by, err := procfs.TracerPID(pid, tid)
		if err != nil {
			continue // the thread ended
		}
		if strconv.Itoa(by) != tracer {
			left = append(left, strconv.Itoa(tid))
		}
	}
	return left, nil
}

// readTrace parses strace's trace output, lines "PID SECONDS.MICROS CALL",
// and records those that strace marks (INJECTED) or (DELAYED).
func (t *Tracer) readTrace(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f, ok := parseFiring(sc.Text())
		if !ok {
			continue
		}
		t.mu.Lock()
		t.firings = append(t.firings, f)
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r) // a line beyond the buffer: drain so strace never blocks
}

func parseFiring(line string) (Firing, bool) {
	if !strings.HasSuffix(line, " (INJECTED)") && !strings.HasSuffix(line, " (DELAYED)") {
		return Firing{}, false
	}
	// strace pads the pid to five columns: "4711  1764.5 accept4(…".
	f := strings.SplitN(strings.TrimLeft(line, " "), " ", 2)
	if len(f) < 2 {
		return Firing{}, false
	}
	f = append(f[:1], strings.SplitN(strings.TrimLeft(f[1], " "), " ", 2)...)
	if len(f) < 3 {
		return Firing{}, false
	}
	pid, err1 := strconv.Atoi(f[0])
	secs, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil {
		return Firing{}, false
	}
	sec := int64(secs)
	// Microseconds from the text, not the float, to keep them exact.
	var usec int64
	if _, frac, ok := strings.Cut(f[1], "."); ok {
		usec, _ = strconv.ParseInt((frac + "000000")[:6], 10, 64)
	}
	call := f[2]
	var name string
	if rest, ok := strings.CutPrefix(call, "<... "); ok {
		name, _, _ = strings.Cut(rest, " ")
	} else {
		name, _, _ = strings.Cut(call, "(")
	}
	var errno string
	if m := injectedErrno.FindAllStringSubmatch(call, -1); m != nil {
		errno = m[len(m)-1][1]
	}
	return Firing{Time: time.Unix(sec, usec*1000), PID: pid, Syscall: name, Errno: errno}, true
}

// readDiag reads strace's own messages: it notes the first "attached" and
// keeps the last lines for errors.
func (t *Tracer) readDiag(r io.Reader) {
	sc := bufio.NewScanner(r)
	seen := false
	for sc.Scan() {
		line := sc.Text()
		if !seen && strings.HasPrefix(line, "strace: Process ") && strings.Contains(line, " attached") {
			seen = true
			close(t.attached)
		}
		t.mu.Lock()
		if t.diag = append(t.diag, line); len(t.diag) > 20 {
			t.diag = t.diag[1:]
		}
		t.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

func (t *Tracer) diagnostics() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.diag) == 0 {
		return "strace said nothing"
	}
	return strings.Join(t.diag, " | ")
}

// Firings are the injections made so far, in the order strace wrote them.
func (t *Tracer) Firings() []Firing {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Firing(nil), t.firings...)
}

// Wait waits until at least n injections have fired. It fails when ctx
// ends first, or when strace ends (detached, or killed) before.
func (t *Tracer) Wait(ctx context.Context, n int) error {
	for {
		t.mu.Lock()
		got, ch := len(t.firings), t.changed
		t.mu.Unlock()
		if got >= n {
			return nil
		}
		if ch == nil {
			return fmt.Errorf("osfault: strace ended after %d of %d firings: %s", got, n, t.diagnostics())
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("osfault: %d of %d firings before the context ended: %w", got, n, ctx.Err())
		}
	}
}

// detachWait bounds each wait for strace to go.
const detachWait = 5 * time.Second

// Detach stops strace with SIGINT, on which it detaches from every thread
// and the process carries on untraced; a strace that has not gone within
// 5s is killed (the kernel then detaches it). Detach may be called more
// than once.
func (t *Tracer) Detach() error { return t.detach() }

func (t *Tracer) stop() error {
	_ = t.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-t.done:
		return nil
	case <-time.After(detachWait):
	}
	_ = t.cmd.Process.Kill()
	select {
	case <-t.done:
		return fmt.Errorf("osfault: strace did not detach from process %d within %v of SIGINT and was killed", t.pid, detachWait)
	case <-time.After(detachWait):
		return fmt.Errorf("osfault: strace (pid %d) on process %d outlived SIGINT and SIGKILL by %v", t.cmd.Process.Pid, t.pid, 2*detachWait)
	}
}
