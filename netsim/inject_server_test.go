package netsim_test

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/sockspec/sockspec/fakes"
	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/inject"
)

// osNetwork is the operating system's network, without faults.
var osNetwork = &inject.FaultyNetwork{}

func init() {
	// A recipe for the forking server below; its children are stubs, so
	// the recipe is never built in a child.
	impl.RegisterChild("fakes-echo", func([]byte) (impl.Config, error) { return impl.Config{Handler: echo}, nil })
}

// FRK-10 with Spawner, on the operating system's loopback network (a
// child needs a real descriptor): a failed fork takes the handle_error
// path, and the next request is handed to a child.
func TestServerForkFailure(t *testing.T) {
	inner := &fakes.StubSpawner{}
	sp := &inject.Spawner{Inner: inner, Fail: inject.Nth(1)}
	var log bytes.Buffer
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, Fork: impl.ForkRecipe{Name: "fakes-echo"},
		Spawner: sp, ErrorLog: &log, Timeout: impl.After(bound)})
	for range 2 {
		c := dial(t, osNetwork, "tcp", s.Address())
		c.Write([]byte("x\n"))
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(log.String(), "fork/exec") || !strings.Contains(log.String(), "resource temporarily unavailable") {
		t.Fatalf("handle_error report:\n%s", log.String())
	}
	if sp.Calls() != 2 || inner.Spawned() != 1 {
		t.Fatalf("calls %d, children %d", sp.Calls(), inner.Spawned())
	}
}

// RES-01 on the operating system's network: FaultyNetwork keeps what the
// server needs of a kernel listener, and the queued connection survives
// the injected EMFILE.
func TestServerEMFILEOnOSNetwork(t *testing.T) {
	rec := &recorder{}
	f := &inject.FaultyNetwork{Accept: []inject.Fault{{When: inject.Nth(1), Errno: syscall.EMFILE}}}
	s := newServer(t, impl.Config{Family: impl.TCP, Network: f, Timeout: impl.After(bound), Trace: rec.Trace()})
	c := dial(t, f, "tcp", s.Address())
	c.Write([]byte("real\n"))
	for range 2 {
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := readAll(t, c); got != "real\n" || err != nil {
		t.Fatalf("reply %q %v", got, err)
	}
	gets := rec.Returns(impl.HookGetRequest)
	if len(gets) != 2 || !errors.Is(gets[0].Err, syscall.EMFILE) || gets[1].Err != nil {
		t.Fatalf("get_request returned %v", gets)
	}
}
