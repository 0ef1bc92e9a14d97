package containers

import (
	"context"
	"fmt"
	"os"

	"github.com/sockspec/sockspec/adapters/process"
)

// A container costs more to start than a spec costs to run: creating,
// attaching, starting and finding the pids of one takes 100–250 ms, and
// its removal 20–100 ms more. So an adapter target keeps spares: while
// a session runs, the next sessions' containers are made in the
// background (fill), and a finished session's container, once it has stopped on its
// own, is removed in the background (removeInBackground). A Start then
// only takes the spare, and a Close only waits for the adapter to exit.
//
// A spare is a container made exactly as a fresh one (same image, limits,
// labels, confinement, network, a shared directory of its own) whose
// adapter has not been spoken to: it waits on its stdin for its first
// command, as a fresh one would. No container ever serves two sessions.

// spare is a started container of the target's adapter and the directory
// mounted into it, waiting for the session that takes it.
type spare struct {
	b   *box
	dir string
	// p reads the adapter's output; nil until a session (or the probe)
	// takes the spare, so that an idle spare runs no goroutine: its hello
	// waits in the attach stream.
	p *process.Peer
}

// filling is a spare being made; spare or err is set when done closes.
type filling struct {
	done  chan struct{}
	spare *spare
	err   error
}

// fillBound bounds the making of a spare, as the probe's start is bounded.
const fillBound = HelloBound + pidBound

// poolSize is the number of spares a target keeps. A container takes
// longer to make (100–250 ms on a loaded machine) than many specs take to
// run, and two made at once take less than twice as long as one: with
// two, short specs in a row do not wait for the engine.
const poolSize = 2

// maxRemoving bounds the removals running in the background; beyond it a
// session's Close removes its container itself.
const maxRemoving = 4

// newSpare starts a container of the target's adapter with a shared
// directory of its own. On error nothing is left.
func (t *Target) newSpare(ctx context.Context) (*spare, error) {
	network, err := t.network(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := sharedDir()
	if err != nil {
		return nil, err
	}
	b, err := t.run(ctx, boxSpec{
		image:   t.image,
		argv:    t.argv,
		role:    "session",
		limits:  t.o.Limits.withDefaults(),
		network: network,
		shared:  dir,
		stdin:   true,
		user:    t.o.User,
		env:     []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"},
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &spare{b: b, dir: dir}, nil
}

// hear starts reading the spare's adapter and waits for its hello.
func (t *Target) hear(ctx context.Context, sp *spare) error {
	if sp.p != nil {
		return nil
	}
	p, err := startPeer(ctx, sp.b, t.o.Validate, t.image)
	if err != nil {
		return err
	}
	sp.p = p
	return nil
}

// usable reports whether a spare's adapter still runs and said nothing
// wrong while it waited.
func (sp *spare) usable() bool {
	return !sp.b.exited() && (sp.p == nil || sp.p.Err() == nil)
}

// take gives a session a container whose adapter said its hello: the
// spare when there is one (waiting for it when it is still being made),
// else a fresh one; then it starts making the next spare.
func (t *Target) take(ctx context.Context) (*spare, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, errClosed
	}
	var f *filling
	if len(t.spares) > 0 {
		f = t.spares[0]
		t.spares = t.spares[1:]
	}
	t.mu.Unlock()
	var sp *spare
	if f != nil {
		select {
		case <-f.done:
			sp = f.spare // nil when making it failed: a fresh start says why
		case <-ctx.Done():
			t.giveBack(f)
			return nil, fmt.Errorf("containers: waiting for a container: %w", ctx.Err())
		}
	}
	if sp != nil && !sp.usable() {
		t.discard(sp)
		sp = nil
	}
	if sp == nil {
		var err error
		if sp, err = t.newSpare(ctx); err != nil {
			return nil, err
		}
	}
	if err := t.hear(ctx, sp); err != nil {
		t.discard(sp)
		return nil, err
	}
	t.fillNext()
	return sp, nil
}

// fillNext starts making spares until poolSize are made or being made.
func (t *Target) fillNext() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for !t.closed && len(t.spares) < poolSize {
		f := &filling{done: make(chan struct{})}
		t.spares = append(t.spares, f)
		t.bg.Add(1)
		go t.fill(f)
	}
}

// fill makes a spare; it runs on a goroutine of its own while a spec runs
// (see BackgroundFuncs).
func (t *Target) fill(f *filling) {
	defer t.bg.Done()
	defer close(f.done)
	ctx, cancel := context.WithTimeout(context.Background(), fillBound)
	defer cancel()
	f.spare, f.err = t.newSpare(ctx)
}

// park keeps a spare made elsewhere (the probe's) for the next Start.
func (t *Target) park(sp *spare) {
	t.mu.Lock()
	if !t.closed && len(t.spares) < poolSize {
		f := &filling{done: make(chan struct{}), spare: sp}
		close(f.done)
		t.spares = append(t.spares, f)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.discard(sp)
}

// giveBack returns a spare still being made, which a Start gave up
// waiting for, to the pool; when the pool is full or the target is
// closed, it waits for the spare (fillBound bounds it) and discards it.
func (t *Target) giveBack(f *filling) {
	t.mu.Lock()
	if !t.closed && len(t.spares) < poolSize {
		t.spares = append([]*filling{f}, t.spares...)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	<-f.done
	if f.spare != nil {
		t.discard(f.spare)
	}
}

// discard removes a spare no session will take, and its directory.
func (t *Target) discard(sp *spare) error {
	err := t.retire(sp.b, sp.p)
	os.RemoveAll(sp.dir)
	return err
}

// retire ends a container whose session (or spare) is over. The adapter
// is told bye and its stdin ends; when every process of the container
// then exits within ByeBound and its output ends, nothing of it runs or
// holds a socket any more, and its removal goes on in the background.
// Otherwise it is removed now, which kills whatever still runs in it.
func (t *Target) retire(b *box, p *process.Peer) error {
	if p != nil && end(b, p) && t.removeLater(b) {
		return nil
	}
	err := b.remove()
	if p != nil {
		p.WaitOutput(removeBound)
	}
	t.forget(b)
	return err
}

// removeLater hands a stopped container to a background removal, unless
// the target is closing or maxRemoving removals run already.
func (t *Target) removeLater(b *box) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.removing >= maxRemoving {
		return false
	}
	t.removing++
	t.bg.Add(1)
	go t.removeInBackground(b)
	return true
}

// removeInBackground removes a stopped container; an error is the
// target's Close's.
func (t *Target) removeInBackground(b *box) {
	defer t.bg.Done()
	err := b.remove()
	t.forget(b)
	t.mu.Lock()
	t.removing--
	if err != nil {
		t.removeErrs = append(t.removeErrs, err)
	}
	t.mu.Unlock()
}

// BackgroundFuncs names the functions of the goroutines the target runs
// on its own, across specs, for the suite's goroutine-leak check to leave
// out: the making of the next spare, the removal of a finished session's
// container, and the HTTP transport's connection loops that their Docker
// API calls hold (a call made while another runs opens a connection of
// its own, which then stays idle in the client's pool).
func (t *Target) BackgroundFuncs() []string {
	if t.blackbox != nil {
		return nil
	}
	return []string{
		"github.com/sockspec/sockspec/containers.(*Target).fill",
		"github.com/sockspec/sockspec/containers.(*Target).removeInBackground",
		"net/http.(*persistConn).readLoop",
		"net/http.(*persistConn).writeLoop",
	}
}

// waitBackground waits for the fills and removals running in the
// background: each bounds itself (fillBound, removeBound).
func (t *Target) waitBackground() { t.bg.Wait() }
