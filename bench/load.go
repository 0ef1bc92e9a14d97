package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LoadConfig describes one timed run of the client.
type LoadConfig struct {
	Addr        string        // server host:port
	Requests    int           // connections to make, each one request
	Concurrency int           // client goroutines, each with one connection at a time
	PayloadSize int           // bytes per request line, without the newline
	SourceAddrs int           // spread connections over 127.0.0.1 … 127.0.0.N; ≤ 1 lets the kernel choose
	Timeout     time.Duration // per request: dial, write and read together
	MaxErrors   int           // stop the run after this many failed requests; ≤ 0 means 100
}

// LoadResult is what one run measured.
type LoadResult struct {
	Requests int           // requests that got the right reply
	Errors   int           // requests that failed
	FirstErr error         // the first failure, for the report
	Elapsed  time.Duration // from the first dial to the last reply
	P50, P99 time.Duration // latency of successful requests
	Max      time.Duration
}

// Throughput is successful requests per second.
func (r LoadResult) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Payload is the request line: size printable bytes and a newline. The
// bytes vary so that a server that mixes up connections is caught.
func Payload(size int) []byte {
	p := make([]byte, size+1)
	for i := range size {
		p[i] = 'a' + byte(i%26)
	}
	p[size] = '\n'
	return p
}

// Load runs cfg.Requests connection-per-request echoes against cfg.Addr
// with cfg.Concurrency goroutines pulling from a shared counter, so that a
// slow connection delays only itself. Every reply is checked byte for byte.
// It returns early, with what it has, when ctx is done or too many requests
// failed.
func Load(ctx context.Context, cfg LoadConfig) LoadResult {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxErrors <= 0 {
		cfg.MaxErrors = 100
	}
	payload := Payload(cfg.PayloadSize)
	dialers := makeDialers(cfg)

	var (
		next     atomic.Int64
		failed   atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		lats     = make([][]time.Duration, cfg.Concurrency)
	)
	start := time.Now()
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(payload)+512)
			lat := make([]time.Duration, 0, cfg.Requests/cfg.Concurrency+1)
			for ctx.Err() == nil && failed.Load() < int64(cfg.MaxErrors) {
				i := next.Add(1)
				if i > int64(cfg.Requests) {
					break
				}
				t0 := time.Now()
				err := echoOnce(ctx, dialers[int(i)%len(dialers)], cfg.Addr, payload, buf, cfg.Timeout)
				if err != nil {
					if failed.Add(1) == 1 {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			lats[w] = lat
		}()
	}
	wg.Wait()
	res := LoadResult{Elapsed: time.Since(start), Errors: int(failed.Load()), FirstErr: firstErr}
	all := slices.Concat(lats...)
	slices.Sort(all)
	res.Requests = len(all)
	if n := len(all); n > 0 {
		res.P50, res.P99, res.Max = all[n/2], all[min(n-1, n*99/100)], all[n-1]
	}
	if res.FirstErr == nil && ctx.Err() != nil && res.Requests < cfg.Requests {
		res.FirstErr = ctx.Err()
	}
	return res
}

// makeDialers returns one dialer per source address. Keep-alive probes are
// off: a connection lives for one request, and the four setsockopt calls
// they cost per dial would be charged to every server alike, on the cores
// the servers need.
func makeDialers(cfg LoadConfig) []*net.Dialer {
	n := max(cfg.SourceAddrs, 1)
	ds := make([]*net.Dialer, n)
	for i := range ds {
		ds[i] = &net.Dialer{Timeout: cfg.Timeout, KeepAlive: -1}
		if cfg.SourceAddrs > 1 {
			ds[i].LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%254))}
		}
	}
	return ds
}

// errMismatch is a reply that is not the request line.
var errMismatch = errors.New("reply differs from the request")

// echoOnce is one request: dial, write the line, read until the server's
// EOF, close. The client closes last, so its side of the connection goes
// through LAST_ACK and leaves no TIME_WAIT behind to hold its port.
func echoOnce(ctx context.Context, d *net.Dialer, addr string, payload, buf []byte, timeout time.Duration) error {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := c.Write(payload); err != nil {
		return fmt.Errorf("writing the request: %w", err)
	}
	n := 0
	for {
		if n == len(buf) {
			return fmt.Errorf("%w: more than %d bytes", errMismatch, len(buf))
		}
		m, err := c.Read(buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the reply after %d bytes: %w", n, err)
		}
	}
	if !bytes.Equal(buf[:n], payload) {
		return fmt.Errorf("%w: got %d bytes %q", errMismatch, n, truncate(buf[:n], 80))
	}
	return nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
