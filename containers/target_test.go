package containers

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/containers/images"
	"github.com/sockspec/sockspec/spec/driver"
)

func TestReferenceEcho(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	for _, family := range []driver.Family{driver.TCP, driver.UnixStream, driver.UDP, driver.UnixDgram} {
		t.Run(string(family), func(t *testing.T) {
			tgt := openTarget(t, "reference", Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := tgt.Start(ctx, driver.ServerConfig{Family: family, Dispatch: driver.Sync})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c, err := s.Dial(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(driver.Echo("hello").Line()); err != nil {
				t.Fatal(err)
			}
			r, err := s.HandleRequest(ctx)
			if err != nil || r.Raised() {
				t.Fatalf("handle_request: %v %v", r, err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 100)
			n, err := c.Read(buf)
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if got := string(buf[:n]); got != "hello\n" {
				t.Fatalf("reply %q", got)
			}
		})
	}
}

// TestScheme: the registry opens container targets by their full name.
func TestScheme(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	r := driver.NewRegistry(Scheme())
	tgt, err := r.Open("container:reference", driver.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	if _, ok := tgt.(*Target); !ok {
		t.Fatalf("container:reference opened a %T", tgt)
	}
	if _, err := r.Open("container:nonsense", driver.OpenOptions{}); err == nil || !strings.Contains(err.Error(), "container:reference") {
		t.Errorf("an unknown container target: %v", err)
	}
}
