package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sockspec/sockspec/internal/osfault"
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/internal/pyenv"
)

// doctorCommand says what this machine lets sockspec do.
var doctorCommand = command{
	name:    "doctor",
	summary: "check what this machine offers sockspec (interpreters, strace, cgroups, Docker…) and how to fix what is missing",
	usage:   doctorUsage,
	run:     runDoctor,
}

const doctorUsage = `Usage: sockspec doctor

Checks what this machine offers the suite and prints a line per item, OK
or MISSING, with the fix for what is missing: the CPython interpreters
found (pyenv's, and python3 on PATH), strace and the permission to
ptrace a running server (fault injection by strace), a pids cgroup (v1
or v2; fork and thread-start failures), the permission to raise
RLIMIT_NOFILE again after lowering it (descriptor exhaustion), a
reachable Docker engine, and a chromium browser. A rule whose means is
missing is N/A, not failed.

Exit status: 0 whatever is missing; 2 for bad arguments.
`

// capSysPtrace and capSysResource are capability numbers
// (linux/capability.h).
const (
	capSysPtrace   = 19
	capSysResource = 24
)

// machine is what doctor asks of this machine, a func per question, so
// that a test can give the answers.
type machine struct {
	lookPath      func(name string) (string, error)
	pythons       func() []string // "3.11 /path/to/python3.11"
	ptraceScope   func() (string, error)
	effectiveCaps func() (uint64, error)
	pidsCgroup    func() error
	docker        func() error
}

// thisMachine asks the machine sockspec runs on.
func thisMachine() machine {
	return machine{
		lookPath:      exec.LookPath,
		pythons:       installedPythons,
		ptraceScope:   procfs.PtraceScope,
		effectiveCaps: procfs.EffectiveCaps,
		pidsCgroup: func() error {
			g, err := osfault.NewPidsCgroup("doctor")
			if err != nil {
				return err
			}
			return g.Close()
		},
		docker: dockerPing,
	}
}

// finding is one line of doctor's report.
type finding struct {
	Item   string
	OK     bool
	Detail string // what was found, or what is missing
	Fix    string // for what is missing
}

func runDoctor(_ context.Context, e env) int {
	if len(e.Args) > 0 {
		if e.Args[0] == "-h" || e.Args[0] == "--help" || e.Args[0] == "-help" {
			fmt.Fprint(e.Stdout, doctorUsage)
			return 0
		}
		fmt.Fprintf(e.Stderr, "sockspec doctor: unexpected argument %q: it takes none\n", e.Args[0])
		return 2
	}
	writeFindings(e.Stdout, diagnose(thisMachine()))
	return 0
}

// writeFindings prints a line per finding.
func writeFindings(w io.Writer, fs []finding) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fs {
		status, detail := "OK", f.Detail
		if !f.OK {
			status = "MISSING"
			if f.Fix != "" {
				detail += " — fix: " + f.Fix
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", status, f.Item, detail)
	}
	tw.Flush()
}

// diagnose asks m every question doctor has.
func diagnose(m machine) []finding {
	var out []finding
	pythons := m.pythons()
	if len(pythons) > 0 {
		out = append(out, finding{Item: "python", OK: true, Detail: strings.Join(pythons, "; ")})
	} else {
		out = append(out, finding{Item: "python", Detail: "no CPython interpreter: cpython: targets cannot run",
			Fix: "apt-get install python3, or pyenv install 3.11 (pyenv's versions are found under $PYENV_ROOT)"})
	}

	if p, err := m.lookPath("strace"); err == nil {
		out = append(out, finding{Item: "strace", OK: true, Detail: p})
	} else {
		out = append(out, finding{Item: "strace", Detail: "not on PATH: no fault injection by strace (inject.strace)", Fix: "apt-get install strace"})
	}
	out = append(out, ptraceFinding(m))

	if err := m.pidsCgroup(); err == nil {
		out = append(out, finding{Item: "pids cgroup", OK: true, Detail: "a pids cgroup (v1 or v2) can be made: fork and thread-start failures (inject.cgroup)"})
	} else {
		out = append(out, finding{Item: "pids cgroup", Detail: oneLine(err.Error()),
			Fix: "run as root on a host (or a container started with --cgroupns=host and a writable /sys/fs/cgroup) whose cgroup2 enables the pids controller"})
	}

	caps, err := m.effectiveCaps()
	switch {
	case err != nil:
		out = append(out, finding{Item: "rlimit raise", Detail: "cannot read this process's capabilities: " + err.Error(), Fix: "run on Linux with /proc mounted"})
	case caps&(1<<capSysResource) != 0:
		out = append(out, finding{Item: "rlimit raise", OK: true, Detail: "CAP_SYS_RESOURCE: RLIMIT_NOFILE can be lowered and raised back (inject.rlimit)"})
	default:
		out = append(out, finding{Item: "rlimit raise", Detail: "no CAP_SYS_RESOURCE: RLIMIT_NOFILE can be lowered but a hard limit not raised back",
			Fix: "run as root (or grant CAP_SYS_RESOURCE)"})
	}

	if err := m.docker(); err == nil {
		out = append(out, finding{Item: "docker", OK: true, Detail: "the Docker engine answers"})
	} else {
		out = append(out, finding{Item: "docker", Detail: oneLine(err.Error()),
			Fix: "install Docker (apt-get install docker.io) and start its engine, or set DOCKER_HOST; run as a user of the docker group"})
	}

	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := m.lookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser != "" {
		out = append(out, finding{Item: "browser", OK: true, Detail: browser})
	} else {
		out = append(out, finding{Item: "browser", Detail: "no chromium on PATH", Fix: "apt-get install chromium"})
	}
	return out
}

// ptraceFinding says whether this process may attach to a running server,
// as strace must (Yama's ptrace_scope).
func ptraceFinding(m machine) finding {
	f := finding{Item: "ptrace"}
	scope, err := m.ptraceScope()
	if err != nil {
		f.OK, f.Detail = true, "no Yama: classic ptrace rules (the same user, or root)"
		return f
	}
	caps, _ := m.effectiveCaps()
	switch {
	case scope == "0":
		f.OK, f.Detail = true, "kernel.yama.ptrace_scope=0"
	case scope == "3":
		f.Detail, f.Fix = "kernel.yama.ptrace_scope=3: ptrace is disabled until reboot", "reboot with kernel.yama.ptrace_scope below 3"
	case caps&(1<<capSysPtrace) != 0:
		f.OK, f.Detail = true, fmt.Sprintf("kernel.yama.ptrace_scope=%s, and this process has CAP_SYS_PTRACE", scope)
	default:
		f.Detail = fmt.Sprintf("kernel.yama.ptrace_scope=%s lets only CAP_SYS_PTRACE attach to a running server", scope)
		f.Fix = "run as root, or sysctl -w kernel.yama.ptrace_scope=0"
	}
	return f
}

// installedPythons lists the interpreters sockspec finds: pyenv's, by
// version, and python3 on PATH when it is no shim.
func installedPythons() []string {
	var out []string
	for _, v := range pyenv.Versions() {
		out = append(out, v+" "+pyenv.Interpreter(v))
	}
	if p, err := exec.LookPath("python3"); err == nil && !strings.Contains(p, "/shims/") {
		out = append(out, "python3 "+p)
	} else if _, err := os.Stat("/usr/bin/python3"); err == nil {
		out = append(out, "python3 /usr/bin/python3")
	}
	return out
}

// dockerBound bounds the question to the Docker engine.
const dockerBound = 2 * time.Second

// dockerPing asks the Docker engine's /_ping on its unix socket
// ($DOCKER_HOST when it is unix://, else /var/run/docker.sock).
func dockerPing() error {
	path := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		p, ok := strings.CutPrefix(h, "unix://")
		if !ok {
			return fmt.Errorf("DOCKER_HOST=%s is not a unix socket; doctor asks only a local engine", h)
		}
		path = p
	}
	c, err := net.DialTimeout("unix", path, dockerBound)
	if err != nil {
		return fmt.Errorf("no Docker engine at %s: %v", path, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(dockerBound))
	if _, err := io.WriteString(c, "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"); err != nil {
		return fmt.Errorf("the Docker engine at %s: %v", path, err)
	}
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the Docker engine at %s does not answer: %v", path, err)
	}
	if !strings.Contains(status, " 200 ") {
		return errors.New("the Docker engine at " + path + " answers " + strings.TrimSpace(status))
	}
	return nil
}
