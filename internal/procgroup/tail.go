package procgroup

import "sync"

// TailKeep is how much of a group's output a TailBuffer keeps.
const TailKeep = 1 << 20

// TailBuffer keeps the last TailKeep bytes written to it: the end of what a
// group's processes wrote, for error messages and reports, in bounded
// memory however much they write. It is safe for concurrent use.
type TailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > TailKeep {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-TailKeep:]...)
	}
	return len(p), nil
}

// String is what the buffer keeps.
func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
