package spec

import (
	"testing"

	"github.com/sockspec/sockspec/spec/driver"
)

func TestHookSequence(t *testing.T) {
	call := func(h string) driver.Event { return driver.Event{Hook: h, Phase: driver.Call, PID: 1} }
	ret := func(h string) driver.Event { return driver.Event{Hook: h, Phase: driver.Return, PID: 1} }
	boom := ret("handle")
	boom.Exception = &driver.Exception{Type: "ValueError"}
	first := []driver.Event{
		call("server_bind"), ret("server_bind"),
		call("service_actions"), ret("service_actions"),
		call("service_actions"), ret("service_actions"),
		call("process_request"), call("handle"), boom, ret("process_request"),
		{Hook: driver.HookFault, Phase: driver.Call, Result: "accept EMFILE"},
	}
	second := []driver.Event{call("server_close"), ret("server_close")}
	got := HookSequence(first, nil, second)
	want := "server_bind service_actions*2 process_request{ handle! }process_request fault | server_close"
	if got != want {
		t.Errorf("HookSequence =\n %q, want\n %q", got, want)
	}
	if got := HookSequence(nil, second); got != "server_close" {
		t.Errorf("HookSequence of one traced session = %q, want no separator", got)
	}
}
