package testkit

import (
	"bytes"
	"sync"
)

// Buffer collects what goroutines write (a server's error log, a relay of a
// child's output) while the test reads it: a bytes.Buffer behind a mutex.
// The zero value is empty and ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

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
