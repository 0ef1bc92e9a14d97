package containers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/containers/images"
	"github.com/sockspec/sockspec/spec/driver"
)

// Usage names the forms of a container target, after "container:".
const Usage = "container:reference, container:cpython:X.Y, container:image=NAME[,cmd=COMMAND ARGS] (a black-box server image), container:adapter=NAME[,cmd=COMMAND ARGS] (an image whose program speaks the driver protocol)"

// Open parses what follows "container:" in a target name and returns its
// target. It connects to the engine and removes what dead runs left
// behind; it starts no server (the first Start, or Info, does).
func Open(arg string, o Options) (driver.Target, error) {
	if err := o.Limits.Validate(); err != nil {
		return nil, err
	}
	mode, err := o.network()
	if err != nil {
		return nil, err
	}
	t := &Target{o: o, mode: mode, live: map[*box]struct{}{}}
	switch {
	case arg == "reference":
		t.image, t.label = images.ReferenceImage, "container:reference"
	case strings.HasPrefix(arg, "cpython:"):
		v := strings.TrimPrefix(arg, "cpython:")
		if v == "" || strings.ContainsAny(v, "/: ") {
			return nil, fmt.Errorf("containers: %q: want cpython:X.Y, a version make images built (CPYTHON=\"%s\" make images)", arg, v)
		}
		t.image, t.label = images.CPythonImage(v), "container:cpython:"+v
	case strings.HasPrefix(arg, "image="), strings.HasPrefix(arg, "adapter="):
		key, rest, _ := strings.Cut(arg, "=")
		name, cmd, _ := strings.Cut(rest, ",cmd=")
		if name == "" {
			return nil, fmt.Errorf("containers: %q names no image: write container:%s=NAME[,cmd=COMMAND ARGS]", arg, key)
		}
		t.image, t.label = name, "container:"+arg
		t.argv = strings.Fields(cmd)
		if strings.Contains(rest, ",cmd=") && len(t.argv) == 0 {
			return nil, fmt.Errorf("containers: %q: cmd= is empty", arg)
		}
		if key == "image" {
			bb, err := newBlackbox(o, name, t.argv)
			if err != nil {
				return nil, err
			}
			t.blackbox = bb
			t.info = bb.info
		}
	default:
		return nil, fmt.Errorf("containers: unknown container target %q: want %s", arg, Usage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), engineBound)
	defer cancel()
	if t.e, err = Connect(ctx); err != nil {
		return nil, err
	}
	sweepOnce(t.e, o.Log)
	if err := imageExists(ctx, t.e, t.image); err != nil {
		return nil, err
	}
	return t, nil
}

// Target runs every session in a container of one image: an adapter
// speaking the driver protocol on its stdin and stdout (reference,
// cpython:, adapter=), or a black-box server (image=).
type Target struct {
	e     *Engine
	o     Options
	mode  string
	image string
	argv  []string
	label string
	// blackbox is set for image= targets.
	blackbox *blackboxProgram

	netOnce sync.Once
	net     *netHolder // nil with NetworkHost
	netErr  error

	infoOnce sync.Once
	info     driver.Info
	hello    driver.Message
	infoErr  error

	mu     sync.Mutex
	live   map[*box]struct{}
	closed bool
	// spares are made or being made, the oldest first, for the next
	// Starts (pool.go).
	spares []*filling
	// bg counts the fills and removals running in the background;
	// removing is the number of the latter, removeErrs what they failed.
	bg         sync.WaitGroup
	removing   int
	removeErrs []error
}

// network starts the target's network holder once (isolated mode).
func (t *Target) network(ctx context.Context) (string, error) {
	if t.mode == NetworkHost {
		return "host", nil
	}
	t.netOnce.Do(func() { t.net, t.netErr = newNetHolder(ctx, t.e) })
	if t.netErr != nil {
		return "", t.netErr
	}
	return t.net.mode(), nil
}

// Info describes the implementation, from the hello of a probe container
// (adapter targets) or the user's declaration (image=).
func (t *Target) Info() driver.Info {
	if t.blackbox != nil {
		return t.info
	}
	t.probe()
	return t.info
}

// Err is the error of the probe: an adapter that does not start.
// SetValidate turns the schema check of the adapter's messages on or off,
// before the first session; false for an image= target, which has no
// adapter to check.
func (t *Target) SetValidate(on bool) bool {
	if t.blackbox != nil {
		return false
	}
	t.o.Validate = on
	return true
}

func (t *Target) Err() error {
	if t.blackbox != nil {
		return nil
	}
	t.probe()
	return t.infoErr
}

// Implementation is the name and version the adapter's hello gives.
func (t *Target) Implementation() (name, version string) {
	t.probe()
	return t.hello.Name, t.hello.Version
}

// probe starts the target's first container and reads its hello; the
// container, spoken to by no one else, is then kept as the first
// session's spare.
func (t *Target) probe() {
	t.infoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), fillBound)
		defer cancel()
		sp, err := t.newSpare(ctx)
		if err == nil {
			if err = t.hear(ctx, sp); err != nil {
				t.discard(sp)
			}
		}
		if err != nil {
			t.infoErr = err
			t.info = driver.Info{Name: t.label, Version: "unavailable: " + err.Error()}
			return
		}
		t.hello = sp.p.Hello()
		t.park(sp)
		caps := append(driver.Capabilities(t.hello.Capabilities), harnessCaps(t.hello.Language, t.o.user())...)
		t.info = driver.Info{Name: t.label, Version: t.hello.Version, Language: t.hello.Language, Capabilities: caps}
	})
}

// run starts a container and keeps it among the target's live ones; a
// container whose target closed meanwhile is removed.
func (t *Target) run(ctx context.Context, s boxSpec) (*box, error) {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	b, err := run(ctx, t.e, s)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		b.remove()
		return nil, errClosed
	}
	t.live[b] = struct{}{}
	t.mu.Unlock()
	return b, nil
}

func (t *Target) forget(b *box) {
	t.mu.Lock()
	delete(t.live, b)
	t.mu.Unlock()
}

// Live is the number of the target's session containers not removed
// (its spare included).
func (t *Target) Live() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.live)
}

// Start runs a container for one server.
func (t *Target) Start(ctx context.Context, cfg driver.ServerConfig) (driver.Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if t.blackbox != nil {
		return t.startBlackbox(ctx, cfg)
	}
	if err := t.Err(); err != nil {
		return nil, err
	}
	if err := process.Supports(t.Info(), cfg); err != nil {
		return nil, err
	}
	s, err := startSession(ctx, t, cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close waits for the target's work in the background, then removes
// every container (the spares' too) and the network it still has.
func (t *Target) Close() error {
	t.mu.Lock()
	t.closed = true
	spares := t.spares
	t.spares = nil
	t.mu.Unlock()
	t.waitBackground()
	var errs []error
	for _, f := range spares {
		if f.spare != nil {
			errs = append(errs, t.discard(f.spare))
		}
	}
	t.mu.Lock()
	boxes := make([]*box, 0, len(t.live))
	for b := range t.live {
		boxes = append(boxes, b)
	}
	t.live = map[*box]struct{}{}
	errs = append(errs, t.removeErrs...)
	t.removeErrs = nil
	t.mu.Unlock()
	for _, b := range boxes {
		errs = append(errs, b.remove())
	}
	if t.net != nil {
		errs = append(errs, t.net.close())
	}
	return errors.Join(errs...)
}
