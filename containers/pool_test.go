package containers

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/containers/images"
	"github.com/sockspec/sockspec/spec/driver"
)

// spareMade waits for the spare the next Start would take and returns
// its container; it fails when there is none.
func (t *Target) spareMade(ctx context.Context) (*box, error) {
	t.mu.Lock()
	var f *filling
	if len(t.spares) > 0 {
		f = t.spares[0]
	}
	t.mu.Unlock()
	if f == nil {
		return nil, errors.New("no spare is being made")
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	return f.spare.b, nil
}

// sparesMade waits for every spare being made.
func (t *Target) sparesMade(ctx context.Context) error {
	t.mu.Lock()
	spares := append([]*filling(nil), t.spares...)
	t.mu.Unlock()
	for _, f := range spares {
		select {
		case <-f.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if f.err != nil {
			return f.err
		}
	}
	return nil
}

// TestSpareLikeFresh: the container the pool made while a session ran is
// configured as the session's own (limits, labels, confinement, network,
// user, image and command), its adapter has served nothing, and the next
// Start takes it. No container serves two sessions.
func TestSpareLikeFresh(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	limits := Limits{Pids: 77, NoFile: 333, Memory: 96 << 20, CPUs: 0.5}
	tgt := openTarget(t, "reference", Options{Limits: limits})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tgt.Info() // the probe's container is the first spare
	seen := map[string]bool{}
	for i := range 3 {
		want, err := tgt.spareMade(ctx)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		s, err := tgt.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
		if err != nil {
			t.Fatal(err)
		}
		b := s.(*session).b
		if b != want {
			t.Errorf("session %d did not take the spare", i)
		}
		if seen[b.id] {
			t.Fatalf("container %s served a second session", short(b.id))
		}
		seen[b.id] = true
		echo(t, ctx, s)
		next, err := tgt.spareMade(ctx)
		if err != nil {
			t.Fatalf("the spare made during session %d: %v", i, err)
		}
		compareContainers(t, ctx, e, b.id, next.id)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// compareContainers checks that two session containers differ only in
// what makes each its own: id, host name and shared directory.
func compareContainers(t *testing.T, ctx context.Context, e *Engine, a, b string) {
	t.Helper()
	inspect := func(id string) client.ContainerInspectResult {
		res, err := e.Client.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ra, rb := inspect(a), inspect(b)
	ca, cb := *ra.Container.Config, *rb.Container.Config
	ca.Hostname, cb.Hostname = "", ""
	if !reflect.DeepEqual(ca, cb) {
		t.Errorf("the spare's config differs from a session's:\n%+v\n%+v", cb, ca)
	}
	ha, hb := *ra.Container.HostConfig, *rb.Container.HostConfig
	if len(ha.Mounts) != 1 || len(hb.Mounts) != 1 || ha.Mounts[0].Source == hb.Mounts[0].Source {
		t.Errorf("each container mounts a directory of its own: %v, %v", ha.Mounts, hb.Mounts)
	}
	ha.Mounts, hb.Mounts = nil, nil
	if !reflect.DeepEqual(ha, hb) {
		t.Errorf("the spare's host config differs from a session's:\n%+v\n%+v", hb, ha)
	}
}

// echo serves one request through s.
func echo(t *testing.T, ctx context.Context, s driver.Session) {
	t.Helper()
	c, err := s.Dial(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(driver.Echo("x").Line()); err != nil {
		t.Fatal(err)
	}
	if r, err := s.HandleRequest(ctx); err != nil || r.Raised() {
		t.Fatalf("handle_request: %v %v", r, err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 10)
	if n, _ := c.Read(buf); string(buf[:n]) != "x\n" {
		t.Fatalf("reply %q", buf[:n])
	}
}

// TestCloseLeavesNothingRunning: once a session's Close returns, its
// server's port is closed (the container stopped), though its removal
// may go on; the target's Close waits for it, and for the spare being
// made, and removes both (openTarget checks that no container is left).
// The goroutines the target keeps across sessions are those it names.
func TestCloseLeavesNothingRunning(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	before := goleak.IgnoreCurrent()
	tgt := openTarget(t, "reference", Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tgt.Info()
	s, err := tgt.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
	if err != nil {
		t.Fatal(err)
	}
	b := s.(*session).b
	addr := s.Address()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !b.stopped() {
		t.Errorf("the session's container still runs after Close")
	}
	err = tgt.net.do(func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil {
		t.Errorf("the server's address %s still accepts after Close", addr)
	}
	var ignore []goleak.Option
	for _, f := range tgt.BackgroundFuncs() {
		ignore = append(ignore, goleak.IgnoreAnyFunction(f))
	}
	if err := goleak.Find(append(ignore, before)...); err != nil {
		t.Errorf("goroutines beyond the target's background work after a session closed: %v", err)
	}
	if err := tgt.Close(); err != nil {
		t.Fatal(err)
	}
	if left := runContainers(t, e); len(left) > 0 {
		t.Errorf("containers left after the target closed: %v", left)
	}
	e.Client.Close() // its idle connections; it stays usable
	if err := goleak.Find(before); err != nil {
		t.Errorf("goroutines left after the target closed: %v", err)
	}
}

// TestRemoveRunTakesSpares: what an interrupted harness calls removes its
// spares with its sessions and network holder, and the target's Close
// copes with their being gone.
func TestRemoveRunTakesSpares(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	tgt := openTarget(t, "reference", Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := tgt.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := tgt.sparesMade(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := len(runContainers(t, e)), 2+poolSize; got != want {
		t.Fatalf("%d containers run; want the session's, %d spares and the network holder", got, poolSize)
	}
	if err := RemoveRun(ctx); err != nil {
		t.Fatal(err)
	}
	if left := runContainers(t, e); len(left) > 0 {
		t.Errorf("containers left after RemoveRun: %v", left)
	}
}
