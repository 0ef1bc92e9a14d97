package containers

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/sockspec/sockspec/containers/images"
	"github.com/sockspec/sockspec/internal/osfault"
	"github.com/sockspec/sockspec/spec/driver"
)

// TestFaultSurvivesDial: a strace fault set just before a client dials
// into the target's namespace still fires. A dial whose thread ended with
// it killed the strace forked from that thread (Pdeathsig), about one run
// in two.
func TestFaultSurvivesDial(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	if err := osfault.StraceAvailable(); err != nil {
		t.Skipf("no strace: %v", err)
	}
	tgt := openTarget(t, "reference", Options{})
	for i := range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, err := tgt.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ServeForever(ctx, 500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		request := func(text string) {
			c, err := s.Dial(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(driver.Echo(text).Line())
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got, _ := io.ReadAll(c); string(got) != text+"\n" {
				t.Fatalf("run %d: reply %q", i, got)
			}
		}
		request("before")
		lift, err := s.(driver.Injector).Inject(ctx, driver.Fault{Op: "accept", Errno: "ENFILE", Nth: 1, Count: 3, Via: driver.ViaStrace})
		if err != nil {
			t.Fatal(err)
		}
		request("after")
		if err := lift(); err != nil {
			t.Fatal(err)
		}
		fired := 0
		for _, e := range s.Trace().Events() {
			if e.Hook == driver.HookFault {
				fired++
			}
		}
		if fired != 3 {
			t.Errorf("run %d: %d of 3 faults fired", i, fired)
		}
		s.Close()
		cancel()
	}
}
