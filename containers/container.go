package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/sockspec/sockspec/internal/procfs"
)

// boxSpec is what one container runs and how it is confined.
type boxSpec struct {
	image string
	// argv replaces the image's command when set (the entry point too).
	argv   []string
	env    []string
	role   string
	limits Limits
	// network: "host", or "container:ID" to share a holder's namespace.
	network string
	// shared is a host directory mounted at the same path, read-write.
	shared string
	// stdin keeps the container's standard input open for an attach.
	stdin bool
	// user overrides the image's user; "" is defaultUser.
	user string
	// detached: no attach stream (a container whose output nobody reads).
	detached bool
}

// box is one running container: its attach stream and host pids.
type box struct {
	e  *Engine
	id string
	// initPID is the host pid of the container's init (docker-init);
	// PID is its child, the program the container was started for.
	initPID, PID int
	started      time.Time
	exitCode     int // when it exited before findPIDs saw it run

	attach    client.HijackedResponse
	demuxOnce sync.Once
	stdout    *io.PipeReader
	stderr    *io.PipeReader
	demux     chan struct{} // closed when the attach stream ended

	removeOnce sync.Once
	removeErr  error
}

// tmpfsScratch is the writable scratch of a read-only container.
const tmpfsScratch = "rw,nosuid,nodev,size=64m,mode=1777"

// hostConfig is the confinement every container of the tier gets.
func (s boxSpec) hostConfig(hc *container.HostConfig) {
	hc.Init = ptr(true) // a Python PID 1 ignores SIGTERM; docker-init forwards it and reaps
	hc.CapDrop = []string{"ALL"}
	hc.SecurityOpt = []string{"no-new-privileges:true"}
	hc.ReadonlyRootfs = true
	hc.Tmpfs = map[string]string{"/tmp": tmpfsScratch}
	hc.NetworkMode = container.NetworkMode(s.network)
	hc.PortBindings = nil
	hc.PublishAllPorts = false
	hc.AutoRemove = false
	s.limits.apply(hc)
	if s.shared != "" {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: s.shared, Target: s.shared})
	}
}

func ptr[T any](v T) *T { return &v }

// run creates the container, attaches to it when it keeps stdin, starts
// it and finds its pids. On any error nothing is left behind.
func run(ctx context.Context, e *Engine, s boxSpec) (_ *box, err error) {
	if err := imageExists(ctx, e, s.image); err != nil {
		return nil, err
	}
	user := s.user
	if user == "" {
		user = defaultUser
	}
	cfg := &container.Config{
		Image:        s.image,
		Labels:       runLabels(s.role),
		User:         user,
		Env:          s.env,
		OpenStdin:    s.stdin,
		StdinOnce:    s.stdin,
		AttachStdin:  s.stdin,
		AttachStdout: true,
		AttachStderr: true,
	}
	if len(s.argv) > 0 {
		cfg.Entrypoint = s.argv[:1]
		cfg.Cmd = s.argv[1:]
	}
	hc := &container.HostConfig{}
	s.hostConfig(hc)
	res, err := e.Client.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc})
	if err != nil {
		if res.ID != "" {
			rctx, cancel := context.WithTimeout(context.Background(), removeBound)
			_ = removeContainer(rctx, e, res.ID)
			cancel()
		}
		return nil, explainCreate(s, err)
	}
	b := &box{e: e, id: res.ID, demux: make(chan struct{})}
	defer func() {
		if err != nil {
			b.remove()
		}
	}()
	if !s.detached {
		if err := b.attachStreams(ctx, s.stdin); err != nil {
			return nil, err
		}
	}
	b.started = time.Now()
	if _, err := e.Client.ContainerStart(ctx, b.id, client.ContainerStartOptions{}); err != nil {
		return nil, explainStart(s, err)
	}
	if err := b.findPIDs(ctx); err != nil {
		if errors.Is(err, errExited) && b.exitCode == 127 {
			// docker-init could not exec the command.
			return nil, fmt.Errorf("containers: the image %s has no command %q: give one it has (cmd=…)%s", s.image, strings.Join(s.argv, " "), b.logsNote())
		}
		return nil, fmt.Errorf("containers: %s: %w%s", s.image, err, b.logsNote())
	}
	return b, nil
}

// defaultUser is nobody:nogroup: no container runs as root.
const defaultUser = "65534:65534"

// imageExists refuses an image that is not built, with the fix: there
// is no registry to pull from.
func imageExists(ctx context.Context, e *Engine, image string) error {
	if _, err := e.Client.ImageInspect(ctx, image); err != nil {
		return fmt.Errorf("containers: the image %s is not built (%v): run make images, or docker build -t %s for your own", image, shortErr(err), image)
	}
	return nil
}

// attachStreams attaches to the container before it starts, so that not
// a byte of its output is lost; the stream works for any image, with or
// without a shell. Stdout and stderr come multiplexed and are split by
// readStreams, once someone reads them: until then what the container
// writes waits in the stream, and no goroutine runs for it.
func (b *box) attachStreams(ctx context.Context, stdin bool) error {
	res, err := b.e.Client.ContainerAttach(ctx, b.id, client.ContainerAttachOptions{Stream: true, Stdin: stdin, Stdout: true, Stderr: true})
	if err != nil {
		return fmt.Errorf("containers: attaching to %s: %w", short(b.id), err)
	}
	b.attach = res.HijackedResponse
	return nil
}

// readStreams starts splitting the attach stream and returns the
// container's stdout and stderr.
func (b *box) readStreams() (stdout, stderr io.Reader) {
	b.demuxOnce.Do(func() {
		outR, outW := io.Pipe()
		errR, errW := io.Pipe()
		b.stdout, b.stderr = outR, errR
		go func() {
			defer close(b.demux)
			_, err := stdcopy.StdCopy(outW, errW, b.attach.Reader)
			outW.CloseWithError(err)
			errW.CloseWithError(err)
		}()
	})
	return b.stdout, b.stderr
}

// pidBound bounds the wait for the container's program to exist.
const pidBound = 5 * time.Second

// findPIDs reads the container's init pid and waits for its child.
func (b *box) findPIDs(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pidBound)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := b.e.Client.ContainerInspect(ctx, b.id, client.ContainerInspectOptions{})
		if err != nil {
			return fmt.Errorf("inspecting the container: %w", err)
		}
		st := res.Container.State
		if st == nil || !st.Running {
			b.exitCode = -1
			if st != nil {
				b.exitCode = st.ExitCode
			}
			return fmt.Errorf("%w (status %d): run the image by hand (docker run --rm IMAGE) to see why", errExited, b.exitCode)
		}
		b.initPID = st.Pid
		if pid := procfs.FirstChild(b.initPID); pid != 0 {
			b.PID = pid
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("its init (pid %d) started no program within %v", b.initPID, pidBound)
		}
	}
}

// exited reports whether the container's program has ended.
func (b *box) exited() bool { return b.PID == 0 || !procfs.Alive(b.PID) }

// removeBound bounds the removal of a container.
const removeBound = 10 * time.Second

// remove kills and removes the container and closes its streams. Docker
// kills every process of the container: request children die with it.
func (b *box) remove() error {
	b.removeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), removeBound)
		defer cancel()
		if err := removeContainer(ctx, b.e, b.id); err != nil {
			b.removeErr = fmt.Errorf("containers: removing %s: %w", short(b.id), err)
		}
		if b.attach.Conn != nil {
			b.attach.Close()
			// Either no one read the streams and none will, or a
			// demultiplexer blocked on an unread pipe ends too.
			b.demuxOnce.Do(func() { close(b.demux) })
			if b.stdout != nil {
				b.stdout.Close()
				b.stderr.Close()
			}
			select {
			case <-b.demux:
			case <-time.After(removeBound):
			}
		}
	})
	return b.removeErr
}

// waitExit waits up to bound for the program to exit on its own.
func (b *box) waitExit(bound time.Duration) bool {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if b.exited() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return b.exited()
}

// stopped reports whether every process of the container has exited:
// its init has, and the kernel kills every other process of a pid
// namespace before the exit of the namespace's init completes.
func (b *box) stopped() bool { return b.initPID != 0 && !procfs.Alive(b.initPID) }

// waitStopped waits up to bound for the container to stop on its own:
// docker-init exits as soon as the program it runs does.
func (b *box) waitStopped(bound time.Duration) bool {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if b.stopped() {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return b.stopped()
}

// logsNote is the last line the container wrote, for a one-line error.
func (b *box) logsNote() string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rc, err := b.e.Client.ContainerLogs(ctx, b.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "5"})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var out, errb strings.Builder
	_, _ = stdcopy.StdCopy(&out, &errb, rc)
	if l := lastLine(errb.String()); l != "" {
		return fmt.Sprintf("; its stderr ends %q", l)
	}
	if l := lastLine(out.String()); l != "" {
		return fmt.Sprintf("; its output ends %q", l)
	}
	return ""
}

// lastLine is the last non-blank line of text, cut to 300 bytes.
func lastLine(text string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}

// removeContainer removes a container, running or not. A container that
// is exiting just then makes the daemon refuse ("is not running", "removal
// in progress"): the removal is tried again until ctx ends.
func removeContainer(ctx context.Context, e *Engine, id string) error {
	for {
		_, err := e.Client.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err == nil || isNotFound(err) {
			return nil
		}
		msg := err.Error()
		if strings.Contains(msg, "already in progress") {
			return nil // another removal will finish it
		}
		if !strings.Contains(msg, "is not running") && !strings.Contains(msg, "is restarting") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func isNotFound(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "no such container")
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// explainCreate turns the daemon's refusal of a container into a cause
// and a fix.
func explainCreate(s boxSpec, err error) error {
	msg := shortErr(err)
	switch {
	case strings.Contains(msg, "No such image") || strings.Contains(msg, "pull access denied") || strings.Contains(msg, "not found"):
		return fmt.Errorf("containers: the image %s is not built: run make images (%s)", s.image, msg)
	}
	return fmt.Errorf("containers: the daemon refused the container of %s: %s; %s", s.image, msg, s.limits.hint())
}

// explainStart turns a failed start into a cause and a fix.
func explainStart(s boxSpec, err error) error {
	msg := shortErr(err)
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory"):
		return fmt.Errorf("containers: the image %s has no command %q: give one it has (cmd=…): %s", s.image, strings.Join(s.argv, " "), msg)
	}
	return fmt.Errorf("containers: the daemon could not start the container of %s: %s; %s", s.image, msg, s.limits.hint())
}

var (
	errClosed = errors.New("containers: closed")
	errExited = errors.New("the container exited at once")
)

// kill sends SIGKILL to every process of the container.
func (b *box) kill() {
	ctx, cancel := context.WithTimeout(context.Background(), removeBound)
	defer cancel()
	_, _ = b.e.Client.ContainerKill(ctx, b.id, client.ContainerKillOptions{Signal: "KILL"})
}
