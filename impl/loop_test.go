package impl_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// A request still queued when a readiness wait's deadline passed must be
// taken by the next get_request: the wait's deadline bounds the wait and
// never the accept or receive that follows it. Here requests queue behind
// a handler that outlasts several poll intervals.
func TestQueuedPastPollInterval(t *testing.T) {
	for _, f := range []impl.Family{impl.TCP, impl.UDP, impl.UnixStream, impl.UnixDatagram} {
		t.Run(f.String(), func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, impl.Config{Family: f, Trace: rec.Trace()})
			serve(t, s, 10*time.Millisecond)

			slow := dial(t, s)
			slow.send("sleep 100ms")
			rec.waitForCall(t, impl.HookProcessRequest, 1)
			var queued []*client
			for i := range 3 {
				c := dial(t, s)
				c.send(fmt.Sprintf("echo %d", i))
				queued = append(queued, c)
			}
			if got, err := slow.readAll(); got != "slept\n" {
				t.Fatalf("slow request: %q, %v", got, err)
			}
			for i, c := range queued {
				if got, err := c.readAll(); got != fmt.Sprintf("%d\n", i) {
					t.Fatalf("queued request %d: %q, %v", i, got, err)
				}
			}
			for _, e := range rec.Returns(impl.HookGetRequest) {
				if e.Err != nil {
					t.Errorf("get_request failed: %v", e.Err)
				}
			}
		})
	}
}
