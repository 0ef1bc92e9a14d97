package impl

import (
	"bytes"
	"runtime"
	"strconv"
)

// goid returns the current goroutine's id. Go hides it on purpose; the
// server needs it for one decision only: whether Shutdown runs on the
// goroutine that runs ServeForever, where waiting would wait on itself
// (SHD-02). It is read from the first line of the goroutine's stack,
// "goroutine 42 [running]:".
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0
	}
	return id
}
