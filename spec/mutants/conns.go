package mutants

import (
	"net"
	"time"
)

// deadlineless is a connection whose deadlines do nothing.
type deadlineless struct{ net.Conn }

func (deadlineless) SetDeadline(time.Time) error      { return nil }
func (deadlineless) SetReadDeadline(time.Time) error  { return nil }
func (deadlineless) SetWriteDeadline(time.Time) error { return nil }

// truncating is a connection whose writes send at most limit bytes each and
// report the short count, as a send(2) that is not retried does.
type truncating struct {
	net.Conn
	limit int
}

func (t truncating) Write(p []byte) (int, error) {
	if len(p) > t.limit {
		p = p[:t.limit]
	}
	return t.Conn.Write(p)
}
