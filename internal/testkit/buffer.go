package testkit

import "github.com/sockspec/sockspec/internal/syncbuf"

// Buffer collects what goroutines write (a server's error log, a relay of a
// child's output) while the test reads it. It is the same type the
// in-process target keeps its server's error log in.
type Buffer = syncbuf.Buffer
