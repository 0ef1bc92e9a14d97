package spec

import (
	"fmt"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// WaitRequestsDone waits until n requests have ended: each request's
// pipeline ends with one shutdown_request, in the serving loop, a request
// thread or a request child.
func (s *Server) WaitRequestsDone(n int) {
	GinkgoHelper()
	s.WaitFor(fmt.Sprintf("%d requests to end (shutdown_request returns)", n), ReplyBound, func(es []driver.Event) bool {
		return driver.Count(es, driver.HookShutdownRequest, driver.Return) >= n
	})
}

// ServeOne sends script from a new client, runs handle_request() once and
// waits for the request to end wherever it was dispatched. It returns the
// client (its reply still unread) and handle_request's result.
func (s *Server) ServeOne(script driver.Script) (*Client, driver.Result) {
	GinkgoHelper()
	c := s.Dial().Send(script)
	r := s.HandleRequest(ReplyBound)
	return c, r
}

// RequestEvents keeps the events of one request.
func RequestEvents(es []driver.Event, request string) []driver.Event {
	var out []driver.Event
	for _, e := range es {
		if e.Request == request {
			out = append(out, e)
		}
	}
	return out
}

// FirstCall returns the first call event of hook, and whether there is one.
func FirstCall(es []driver.Event, hook string) (driver.Event, bool) {
	for _, e := range es {
		if e.Hook == hook && e.Phase == driver.Call {
			return e, true
		}
	}
	return driver.Event{}, false
}

// ReturnsOf lists the return events of hook.
func ReturnsOf(es []driver.Event, hook string) []driver.Event {
	var out []driver.Event
	for _, e := range es {
		if e.Hook == hook && e.Phase == driver.Return {
			out = append(out, e)
		}
	}
	return out
}

// CallsOf lists the call events of hook.
func CallsOf(es []driver.Event, hook string) []driver.Event {
	var out []driver.Event
	for _, e := range es {
		if e.Hook == hook && e.Phase == driver.Call {
			out = append(out, e)
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// expectServed sends an echo of text from a new client and expects its
// reply: the server serves.
func expectServed(srv *Server, text string) {
	GinkgoHelper()
	c := srv.Dial().Send(driver.Echo(text))
	Expect(c.ReadReply().Data).To(Equal(text+"\n"), "the server must serve")
}
