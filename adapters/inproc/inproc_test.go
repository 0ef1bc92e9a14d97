package inproc

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec/driver"
)

func TestMain(m *testing.M) {
	ChildMain(nil)
	testkit.Main(m)
}

const bound = 10 * time.Second

func start(t *testing.T, tgt *Target, cfg driver.ServerConfig) driver.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	s, err := tgt.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// One echo through handle_request in every family and dispatch mode, with
// the trace the adapter translates from impl's.
func TestEchoEveryServerKind(t *testing.T) {
	for _, f := range driver.Families {
		for _, d := range driver.Dispatches {
			t.Run(string(f)+"/"+string(d), func(t *testing.T) {
				s := start(t, &Target{}, driver.ServerConfig{Family: f, Dispatch: d})
				ctx, cancel := context.WithTimeout(context.Background(), bound)
				defer cancel()
				conn, err := s.Dial(ctx, false)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(bound))
				if _, err := conn.Write(driver.Echo("hi").Line()); err != nil {
					t.Fatal(err)
				}
				r, err := s.HandleRequest(ctx)
				if err != nil || r.Raised() {
					t.Fatalf("handle_request: %v, %v", r, err)
				}
				line, err := bufio.NewReader(conn).ReadString('\n')
				if err != nil || line != "hi\n" {
					t.Fatalf("reply %q, %v", line, err)
				}
				err = s.Trace().Wait(ctx, func(es []driver.Event) bool {
					return driver.Count(es, driver.HookCloseRequest, driver.Call) >= 1
				})
				if err != nil {
					t.Fatalf("no close_request traced: %v", s.Trace().Events())
				}
				if d == driver.Sync {
					want := []string{driver.HookGetRequest, driver.HookVerifyRequest, driver.HookProcessRequest, driver.HookFinishRequest}
					if got := driver.Calls(s.Trace().Events(), func(driver.Event) bool { return true }); !hasInOrder(got, want) {
						t.Errorf("calls %v lack %v in order", got, want)
					}
				}
			})
		}
	}
}

func hasInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestStartRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := (&Target{}).Start(ctx, driver.ServerConfig{Family: "sctp", Dispatch: driver.Sync}); err == nil || !strings.Contains(err.Error(), "sctp") {
		t.Errorf("an unknown family: %v", err)
	}
	if _, err := (&Target{Mutation: "no-such"}).Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync}); err == nil || !strings.Contains(err.Error(), "no-such") {
		t.Errorf("an unknown mutation: %v", err)
	}
}

// SIGUSR2's handler raises into a running loop only: with no loop it is
// ignored, as the Python adapter's is; an unknown signal is refused.
func TestSignalRaisesIntoTheLoop(t *testing.T) {
	ctx := context.Background()
	s := start(t, &Target{}, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
	sg := s.(driver.Signaller)
	if err := sg.Signal(ctx, "SIGHUP"); err == nil || !strings.Contains(err.Error(), "SIGHUP") {
		t.Fatalf("Signal(SIGHUP) = %v; want a refusal naming it", err)
	}
	if err := sg.Signal(ctx, "SIGUSR2"); err != nil {
		t.Fatalf("Signal(SIGUSR2) with no loop: %v", err)
	}
	if err := s.ServeForever(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := sg.Signal(ctx, "SIGUSR2"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := s.Trace().Wait(wctx, func(es []driver.Event) bool {
		for _, e := range es {
			if e.Hook == driver.HookServeForever && e.Phase == driver.Return {
				return e.Exception != nil && e.Exception.Type == "SignalRaised"
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("serve_forever did not end with SignalRaised: %v\n%v", err, s.Trace().Events())
	}
}

// A foreign child exits with the agreed status and is its owner's to reap.
func TestForeignChild(t *testing.T) {
	s := start(t, &Target{}, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Forking})
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	fc, err := s.(driver.ForeignChildren).StartForeignChild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Exit(ctx); err != nil {
		t.Fatal(err)
	}
	status, stolen, err := fc.Reap(ctx)
	if err != nil || stolen || status != driver.ForeignChildStatus {
		t.Fatalf("Reap = %d, stolen %v, %v; want %d", status, stolen, err, driver.ForeignChildStatus)
	}
}

// The schemes open the reference and the mutants they are given, and
// name what is wrong with a name they cannot open.
func TestSchemes(t *testing.T) {
	known := Mutations{"ord03-test": {}}
	reg := driver.NewRegistry(ReferenceScheme(), MutantScheme(known))
	for _, tc := range []struct{ name, want string }{{"reference", "reference"}, {"", "reference"}, {"mutant:ord03-test", "mutant:ord03-test"}} {
		target, err := reg.Open(tc.name, driver.OpenOptions{})
		if err != nil || target.Info().Name != tc.want {
			t.Errorf("Open(%q) = %v, %v; want %s", tc.name, target, err, tc.want)
		}
	}
	for _, tc := range []struct{ name, want string }{
		{"mutant:no-such", `unknown mutant "no-such"`},
		{"reference:x", "write reference, or mutant:NAME"},
		{"cpython:3.11", `unknown target "cpython:3.11": want reference or mutant:NAME`},
	} {
		if _, err := reg.Open(tc.name, driver.OpenOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(%q): %v; want one line with %q", tc.name, err, tc.want)
		}
	}
	if names := known.Names(); len(names) != 1 || names[0] != "ord03-test" {
		t.Errorf("Names() = %v", names)
	}
}
