// Command example is a Go implementation made a sockspec target with the
// goadapter kit: here the reference, whose driver.Target is
// adapters/inproc. A port puts its own Target in its place.
//
//	go build -o /tmp/example ./adapters/goadapter/example
//	sockspec run --target process:/tmp/example --validate-protocol
package main

import (
	"github.com/sockspec/sockspec/adapters/goadapter"
	"github.com/sockspec/sockspec/adapters/inproc"
)

func main() {
	// A forking server's request child is this program run again: it
	// serves its request before anything else happens.
	inproc.ChildMain(nil)
	goadapter.Main(&inproc.Target{})
}
