package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// transforms are the choices of --handler: what a request becomes in the
// reply.
var transforms = map[string]func([]byte) []byte{
	"echo":  func(b []byte) []byte { return b },
	"upper": bytes.ToUpper,
}

// recipeName is the fork recipe of a --handler choice: a request child is
// this program run again, and rebuilds its handler from this name.
func recipeName(handler string) string { return "sockspec-serve-" + handler }

// The recipes are registered at init, before main calls impl.ChildMain,
// because a request child looks its recipe up there. The parameters are the
// stream timeout, written as a Go duration.
func init() {
	for name, f := range transforms {
		impl.RegisterChild(recipeName(name), func(params []byte) (impl.Config, error) {
			timeout, err := time.ParseDuration(string(params))
			if err != nil {
				return impl.Config{}, fmt.Errorf("the timeout parameter %q is not a duration: %w", params, err)
			}
			return impl.Config{Handler: lineHandler(f, timeout)}, nil
		})
	}
}

// lineHandler serves one request with f: a stream request reads one line
// and gets f(line) back, under the stream timeout; a datagram request gets
// f(datagram) back.
func lineHandler(f func([]byte) []byte, timeout time.Duration) impl.NewHandler {
	return impl.LineTransformWith(impl.StreamOptions{Timeout: timeout}, f)
}
