package goadapter

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/spec/driver"
)

// Hooks is what the kit hands the server of a port (Port.New): the
// recorder of its hook calls (Trace), the request handler that runs the
// harness's request scripts (ServeStream, ServeDatagram), the address to
// bind (Address) and the faults the configuration asks for (Fault).
//
// The kit itself traces the calls it makes on the Server: handle_request,
// serve_forever, shutdown and server_close. Everything beneath them is the
// port's to trace, by calling Trace at the call and the return of each
// BaseServer hook: server_bind, server_activate, get_request,
// verify_request, process_request, finish_request, shutdown_request,
// close_request, handle_error, handle_timeout (and service_actions,
// collect_children where the port has them). The handler's setup, handle
// and finish are traced by ServeStream and ServeDatagram.
type Hooks struct {
	cfg     driver.ServerConfig
	trace   driver.Trace
	start   time.Time
	seq     atomic.Int64
	address string

	mu       sync.Mutex
	requests map[any]requestID // the request objects seen, by identity
	order    []any             // requests, oldest first, to forget the oldest
	nextID   int
	faults   map[string]int // occurrences of each fault op so far

	// shutdown is the session's traced shutdown, for a script's shutdown
	// step; it is set once the server is built.
	shutdown func() error
}

// requestID is how the trace names a request.
type requestID struct{ id, client string }

// keptRequests bounds the request objects the kit remembers: a request
// older than that many others gets a new id if it shows up again.
const keptRequests = 4096

func newHooks(cfg driver.ServerConfig, address string) *Hooks {
	return &Hooks{cfg: cfg, start: time.Now(), address: address, requests: map[any]requestID{}, faults: map[string]int{}}
}

// Config is the configuration the harness asked for.
func (h *Hooks) Config() driver.ServerConfig { return h.cfg }

// Address is where the server binds: the configuration's address, or the
// one the kit chose (a free loopback port, "127.0.0.1:0", or a fresh
// socket path for the Unix families).
func (h *Hooks) Address() string { return h.address }

// Trace records one call or return of hook. request is the request the
// hook is about, as the port holds it (its net.Conn, or a pointer to its
// datagram request), nil for a hook of the server itself: the kit names
// each request object it sees by an id of its own, and takes the client
// address from its RemoteAddr method when it has one. The object must be
// comparable (an interface value or a pointer); one that is not is traced
// without an id.
//
// err is, on a Return, the error the hook ended with (nil: it returned
// normally; a Returned error: it returned that value) and, on the Call of
// handle_error, the error it handles. Trace the Return of get_request with
// the request it took, so that the request's events begin there.
func (h *Hooks) Trace(hook string, phase driver.Phase, request any, err error) {
	e := driver.Event{Hook: hook, Phase: phase, Seq: h.seq.Add(1), PID: os.Getpid(),
		Thread: strconv.FormatUint(goid(), 10), Time: time.Since(h.start)}
	if request != nil {
		id := h.requestOf(request)
		e.Request, e.Client = id.id, id.client
	}
	if v, ok := returnedValue(err); ok {
		e.Result = v
	} else if err != nil {
		e.Exception = exceptionOf(err)
	}
	h.trace.Append(e)
}

// Around traces hook's call, runs f and traces its return with f's error,
// which it returns: the shape of most hooks.
func (h *Hooks) Around(hook string, request any, f func() error) error {
	h.Trace(hook, driver.Call, request, nil)
	err := f()
	h.Trace(hook, driver.Return, request, err)
	return err
}

func (h *Hooks) requestOf(request any) requestID {
	if !reflect.TypeOf(request).Comparable() {
		return requestID{client: clientOf(request)}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if id, ok := h.requests[request]; ok {
		return id
	}
	h.nextID++
	id := requestID{id: strconv.Itoa(h.nextID), client: clientOf(request)}
	h.requests[request] = id
	h.order = append(h.order, request)
	if len(h.order) > keptRequests {
		delete(h.requests, h.order[0])
		h.order = h.order[1:]
	}
	return id
}

func clientOf(request any) string {
	if r, ok := request.(interface{ RemoteAddr() net.Addr }); ok {
		if a := r.RemoteAddr(); a != nil {
			return a.String()
		}
	}
	return ""
}

// Fault is the fault seam of op ("accept", "recvfrom", "fork",
// "thread_start"): call it where the server is about to make that call.
// It returns nil, or the error the configuration's faults (Config().Faults)
// make this occurrence fail with, a *os.SyscallError of the fault's errno,
// after tracing the firing. A port that calls it for accept may claim the
// fault.accept capability; for fork and thread_start, fault.spawn.
func (h *Hooks) Fault(op string) error {
	h.mu.Lock()
	h.faults[op]++
	n := h.faults[op]
	h.mu.Unlock()
	for _, f := range h.cfg.Faults {
		if f.Op != op || n < f.Nth || n >= f.Nth+max(f.Count, 1) {
			continue
		}
		errno, ok := errnos[f.Errno]
		if !ok {
			return fmt.Errorf("goadapter: fault %s: unknown errno %q", op, f.Errno)
		}
		h.trace.Append(driver.Event{Hook: driver.HookFault, Phase: driver.Call, Seq: h.seq.Add(1), PID: os.Getpid(),
			Time: time.Since(h.start), Result: fmt.Sprintf("%s %s (occurrence %d)", op, f.Errno, n)})
		return os.NewSyscallError(op, errno)
	}
	return nil
}

// errnos are the errno names a configured fault may use.
var errnos = map[string]syscall.Errno{
	"EMFILE": syscall.EMFILE, "ENFILE": syscall.ENFILE, "ENOBUFS": syscall.ENOBUFS, "ENOMEM": syscall.ENOMEM,
	"EAGAIN": syscall.EAGAIN, "ECONNABORTED": syscall.ECONNABORTED, "EINTR": syscall.EINTR, "EPERM": syscall.EPERM,
}

// goid returns the current goroutine's id, read from the first line of its
// stack ("goroutine 42 [running]:"): the trace's thread, and the way the
// kit tells the serving goroutine from the others.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
