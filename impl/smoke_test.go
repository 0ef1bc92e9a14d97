package impl_test

import (
	"testing"

	"github.com/sockspec/sockspec/impl"
)

func TestSmoke(t *testing.T) {
	for _, f := range []impl.Family{impl.TCP, impl.UDP, impl.UnixStream, impl.UnixDatagram} {
		for _, d := range []impl.Dispatch{impl.Sync, impl.Threading, impl.Forking} {
			t.Run(f.String()+"/"+d.String(), func(t *testing.T) {
				rec := &recorder{}
				s := newServer(t, impl.Config{Family: f, Dispatch: d, Trace: rec.trace()})
				c := dial(t, s)
				c.send("echo hi")
				if err := s.HandleRequest(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				got, err := c.readAll()
				if got != "hi\n" {
					t.Fatalf("got %q %v", got, err)
				}
				s.ServerClose()
				t.Log(rec.calls())
			})
		}
	}
}
