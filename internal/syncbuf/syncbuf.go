// Package syncbuf is a bytes.Buffer that goroutines may write while another
// reads it: a server's error log filled by its request goroutines and read
// by the harness, a child's output relayed by a copier and read by a test.
// It exists once so that the reference's in-process target and the tests
// (through internal/testkit) share one implementation.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer collects writes behind a mutex. The zero value is empty and ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
