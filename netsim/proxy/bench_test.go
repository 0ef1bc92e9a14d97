package proxy_test

import (
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// sinkServer reads blocks of size bytes and answers each with one byte,
// until the benchmark ends.
func sinkServer(b *testing.B, size int) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 256<<10)
				for {
					if _, err := io.CopyBuffer(io.Discard, io.LimitReader(c, int64(size)), buf); err != nil {
						return
					}
					if _, err := c.Write([]byte{1}); err != nil {
						return
					}
				}
			}()
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// exchange sends block through c and waits for the one-byte answer.
func exchange(b *testing.B, c net.Conn, block []byte) time.Duration {
	t0 := time.Now()
	if _, err := c.Write(block); err != nil {
		b.Fatal(err)
	}
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

// BenchmarkProxyLatency measures one-byte round trips over loopback, direct
// and through an ideal proxy, interleaved, and reports what the proxy adds
// at the median and the 99th percentile, and the ratio of the medians.
func BenchmarkProxyLatency(b *testing.B) {
	upstream := sinkServer(b, 1)
	p := start(b, "tcp", upstream, nil, nil)
	direct := dialT(b, "tcp", upstream)
	proxied := dialT(b, "tcp", p.Addr().String())
	one := []byte{0}
	for range 100 { // warm up both paths
		exchange(b, direct, one)
		exchange(b, proxied, one)
	}
	var d, q []time.Duration
	b.ResetTimer()
	for range b.N {
		d = append(d, exchange(b, direct, one))
		q = append(q, exchange(b, proxied, one))
	}
	b.StopTimer()
	us := func(t time.Duration) float64 { return float64(t) / float64(time.Microsecond) }
	b.ReportMetric(us(percentile(d, 0.5)), "µs-p50-direct")
	b.ReportMetric(us(percentile(q, 0.5)), "µs-p50-proxy")
	b.ReportMetric(us(percentile(q, 0.5)-percentile(d, 0.5)), "µs-p50-added")
	b.ReportMetric(us(percentile(q, 0.99)-percentile(d, 0.99)), "µs-p99-added")
	b.ReportMetric(float64(percentile(q, 0.5))/float64(percentile(d, 0.5)), "×p50-vs-direct")
}

// BenchmarkProxyThroughput sends 16 MiB blocks over loopback, direct and
// through an ideal proxy, interleaved, and reports both rates and their
// ratio.
func BenchmarkProxyThroughput(b *testing.B) {
	const size = 16 << 20
	upstream := sinkServer(b, size)
	p := start(b, "tcp", upstream, nil, nil)
	direct := dialT(b, "tcp", upstream)
	proxied := dialT(b, "tcp", p.Addr().String())
	block := make([]byte, size)
	exchange(b, direct, block)
	exchange(b, proxied, block)
	var d, q time.Duration
	b.ResetTimer()
	for range b.N {
		direct.SetDeadline(time.Now().Add(bound))
		proxied.SetDeadline(time.Now().Add(bound))
		d += exchange(b, direct, block)
		q += exchange(b, proxied, block)
	}
	b.StopTimer()
	mbps := func(t time.Duration) float64 { return float64(b.N) * size / 1e6 / t.Seconds() }
	b.ReportMetric(mbps(d), "MB/s-direct")
	b.ReportMetric(mbps(q), "MB/s-proxy")
	b.ReportMetric(mbps(q)/mbps(d), "×throughput-vs-direct")
	b.ReportMetric(0, "ns/op")
}
