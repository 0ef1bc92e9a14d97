package impl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Handler is a request handler (BaseRequestHandler): a new one is built for
// every request, and the server calls Setup, then Handle, then Finish.
// Finish runs even when Handle fails; neither Handle nor Finish runs when
// Setup fails (ORD-08). An error from any of them is a failure of the request
// and reaches handle_error, unless it is a FatalError.
type Handler interface {
	Setup(r *Request) error
	Handle(r *Request) error
	Finish(r *Request) error
}

// NewHandler builds the Handler for one request.
type NewHandler func() Handler

// BaseHandler has empty Setup and Finish, like BaseRequestHandler; embed it
// and write Handle.
type BaseHandler struct{}

func (BaseHandler) Setup(*Request) error  { return nil }
func (BaseHandler) Finish(*Request) error { return nil }

// StreamOptions are the class attributes of StreamRequestHandler. The zero
// value is CPython's default.
type StreamOptions struct {
	// Timeout, when positive, bounds every read and write on the connection,
	// as socket.settimeout does; a timed-out read is a handler failure
	// (TMO-08). Zero means no limit.
	Timeout time.Duration
	// DisableNagle sets TCP_NODELAY on TCP connections. When false, Nagle's
	// algorithm stays on, as in CPython (Go itself turns it off by default).
	DisableNagle bool
	// RBufSize is the read buffer size; zero means 8192 (io.DEFAULT_BUFFER_SIZE).
	RBufSize int
	// WBufSize is the write buffer size. Zero (the default) writes straight
	// to the connection: Wfile.Write sends everything before it returns and
	// never reports a short write (HND-01, Issue #26721).
	WBufSize int
}

// StreamHandler is StreamRequestHandler: Setup applies the options and makes
// Rfile and Wfile; Finish flushes Wfile and ignores a flush error (HND-02).
// It does not close the connection: shutdown_request does that. Embed it
// and write Handle, or use StreamHandlerFunc.
type StreamHandler struct {
	StreamOptions
	Conn  net.Conn
	Rfile *bufio.Reader
	Wfile io.Writer
	wbuf  *bufio.Writer
}

// Setup is StreamRequestHandler.setup (HND-01).
func (h *StreamHandler) Setup(r *Request) error {
	if r.Conn == nil {
		return fmt.Errorf("impl: StreamHandler got a request without a connection: use a datagram handler for %v servers", r.Server.Family())
	}
	h.Conn = r.Conn
	if h.Timeout > 0 {
		h.Conn = &timeoutConn{Conn: r.Conn, timeout: h.Timeout}
	}
	if tc, ok := r.Conn.(interface{ SetNoDelay(bool) error }); ok {
		if err := tc.SetNoDelay(h.DisableNagle); err != nil {
			return fmt.Errorf("setting TCP_NODELAY: %w", err)
		}
	}
	size := h.RBufSize
	if size <= 0 {
		size = 8192
	}
	h.Rfile = bufio.NewReaderSize(h.Conn, size)
	if h.WBufSize > 0 {
		h.wbuf = bufio.NewWriterSize(h.Conn, h.WBufSize)
		h.Wfile = h.wbuf
	} else {
		h.Wfile = h.Conn
	}
	return nil
}

// Flush writes out what Wfile holds when WBufSize buffers it (wfile.flush());
// with the default unbuffered Wfile there is nothing to do.
func (h *StreamHandler) Flush() error {
	if h.wbuf != nil {
		return h.wbuf.Flush()
	}
	return nil
}

// Finish is StreamRequestHandler.finish (HND-02): buffered output is flushed
// and a flush error (the client went away) is ignored.
func (h *StreamHandler) Finish(*Request) error {
	if h.wbuf != nil {
		_ = h.wbuf.Flush()
	}
	return nil
}

// timeoutConn gives every read and write its own deadline, which is how
// socket.settimeout behaves; Go deadlines are absolute instead.
type timeoutConn struct {
	net.Conn
	timeout time.Duration
}

func (c *timeoutConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *timeoutConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// DatagramHandler is DatagramRequestHandler: Setup reads the datagram into
// Rfile and gives an empty Wfile; Finish sends Wfile's contents back to the
// client, always, even when empty and even when Handle failed (NET-08).
type DatagramHandler struct {
	Packet []byte
	Rfile  *bytes.Reader
	Wfile  *bytes.Buffer
}

// ErrNoReplyAddress is the failure of a datagram reply to a Unix client that
// never bound its socket and so has no address to reply to (NET-11).
var ErrNoReplyAddress = errors.New("impl: cannot reply: the client's socket is not bound to an address (bind the client socket, or do not reply)")

// Setup is DatagramRequestHandler.setup.
func (h *DatagramHandler) Setup(r *Request) error {
	if r.PacketConn == nil {
		return fmt.Errorf("impl: DatagramHandler got a request without a datagram: use a stream handler for %v servers", r.Server.Family())
	}
	h.Packet = r.Data
	h.Rfile = bytes.NewReader(r.Data)
	h.Wfile = new(bytes.Buffer)
	return nil
}

// Finish is DatagramRequestHandler.finish: the reply goes out through the
// server's socket.
func (h *DatagramHandler) Finish(r *Request) error {
	if r.ClientAddr == nil || r.ClientAddr.String() == "" || r.ClientAddr.String() == "@" {
		return ErrNoReplyAddress
	}
	_, err := r.PacketConn.WriteTo(h.Wfile.Bytes(), r.ClientAddr)
	return err
}

// StreamHandlerFunc builds a StreamHandler with default options whose
// Handle is f.
func StreamHandlerFunc(f func(h *StreamHandler, r *Request) error) NewHandler {
	return StreamHandlerFuncWith(StreamOptions{}, f)
}

// StreamHandlerFuncWith is StreamHandlerFunc with options.
func StreamHandlerFuncWith(opts StreamOptions, f func(h *StreamHandler, r *Request) error) NewHandler {
	return func() Handler { return &streamFunc{StreamHandler: StreamHandler{StreamOptions: opts}, f: f} }
}

type streamFunc struct {
	StreamHandler
	f func(*StreamHandler, *Request) error
}

func (s *streamFunc) Handle(r *Request) error { return s.f(&s.StreamHandler, r) }

// DatagramHandlerFunc builds a DatagramHandler whose Handle is f.
func DatagramHandlerFunc(f func(h *DatagramHandler, r *Request) error) NewHandler {
	return func() Handler { return &datagramFunc{f: f} }
}

type datagramFunc struct {
	DatagramHandler
	f func(*DatagramHandler, *Request) error
}

func (d *datagramFunc) Handle(r *Request) error { return d.f(&d.DatagramHandler, r) }

// LineTransform is a handler for any family: a stream request reads one
// line and writes f(line) back; a datagram request replies f(datagram).
// Echo and upper-casing servers are LineTransform of the identity and of
// bytes.ToUpper.
func LineTransform(f func([]byte) []byte) NewHandler {
	return LineTransformWith(StreamOptions{}, f)
}

// LineTransformWith is LineTransform whose stream requests are handled with
// opts (a read timeout, Nagle's algorithm off, buffer sizes).
func LineTransformWith(opts StreamOptions, f func([]byte) []byte) NewHandler {
	return func() Handler { return &lineTransform{f: f, opts: opts} }
}

type lineTransform struct {
	f      func([]byte) []byte
	opts   StreamOptions
	stream *StreamHandler
	dgram  *DatagramHandler
}

func (l *lineTransform) Setup(r *Request) error {
	if r.Conn != nil {
		l.stream = &StreamHandler{StreamOptions: l.opts}
		return l.stream.Setup(r)
	}
	l.dgram = &DatagramHandler{}
	return l.dgram.Setup(r)
}

func (l *lineTransform) Handle(r *Request) error {
	if l.stream != nil {
		line, err := l.stream.Rfile.ReadBytes('\n')
		if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
			return fmt.Errorf("reading the request line: %w", err)
		}
		_, err = l.stream.Wfile.Write(l.f(line))
		return err
	}
	_, err := l.dgram.Wfile.Write(l.f(l.dgram.Packet))
	return err
}

func (l *lineTransform) Finish(r *Request) error {
	if l.stream != nil {
		return l.stream.Finish(r)
	}
	return l.dgram.Finish(r)
}
