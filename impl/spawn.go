package impl

import (
	"fmt"
	"os"
	"syscall"
)

// Spawner starts request children. The default, ExecSpawner, runs this
// program again; a fake can fail on purpose (fork EAGAIN, FRK-10).
type Spawner interface {
	Spawn(spec ChildSpec) (Child, error)
}

// ChildSpec is what a request child is started with.
type ChildSpec struct {
	// Env is added to the parent's environment.
	Env []string
	// Files become descriptors 3, 4, … of the child; a nil entry leaves that
	// descriptor closed.
	Files []*os.File
	// Stderr is the child's standard error; nil means the parent's.
	Stderr *os.File
}

// Child is a started request child.
type Child interface {
	PID() int
	// Wait blocks until the child exits, reaps it, and returns its exit
	// status: the exit code, or 128 plus the signal that killed it.
	Wait() (int, error)
}

// ExecSpawner starts a child by executing Path (this program's own
// executable when empty) with the environment of ChildSpec; the child finds
// its request through ChildMain.
type ExecSpawner struct {
	Path string
}

// Spawn starts the child.
func (e ExecSpawner) Spawn(spec ChildSpec) (Child, error) {
	path := e.Path
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding this program's executable to start a request child: %w", err)
		}
		path = exe
	}
	// Opened for each child and closed once it has its copy: a server
	// holds no descriptor beyond those of its sockets and requests.
	stdin, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer stdin.Close()
	stderr := spec.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	files := append([]*os.File{stdin, os.Stdout, stderr}, spec.Files...)
	p, err := os.StartProcess(path, []string{os.Args[0]}, &os.ProcAttr{
		Env:   append(os.Environ(), spec.Env...),
		Files: files,
	})
	if err != nil {
		return nil, err
	}
	return &execChild{p: p}, nil
}

type execChild struct{ p *os.Process }

func (c *execChild) PID() int { return c.p.Pid }

// Wait reaps this child and no other: os.Process waits on its own pid
// (through a pidfd on Linux), never on -1 (FRK-07).
func (c *execChild) Wait() (int, error) {
	st, err := c.p.Wait()
	if err != nil {
		return -1, err
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return st.ExitCode(), nil
}
