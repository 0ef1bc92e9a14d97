// Command images builds the container tier's images (make images): the
// reference, the bookworm base, and the CPython versions asked for
// (default 3.11 and 2.7). What is current is skipped. Exit status 2 when
// no Docker engine answers or a build fails.
//
//	go run ./containers/cmd/images [--force] [--cpython "3.11 2.7"]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sockspec/sockspec/containers"
	"github.com/sockspec/sockspec/containers/images"
)

func main() {
	force := flag.Bool("force", false, "build every image, current or not")
	versions := flag.String("cpython", "3.11 2.7", "the CPython versions to build images of (pyenv's X.Y), space- or comma-separated; \"\" for none")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, *force, strings.FieldsFunc(*versions, func(r rune) bool { return r == ' ' || r == ',' })))
}

func run(ctx context.Context, force bool, versions []string) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		return 2
	}
	e, err := containers.Connect(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		return 2
	}
	b := &images.Builder{Client: e.Client, Log: os.Stdout, ModuleRoot: root, Force: force}
	steps := []func(context.Context) error{b.Reference, b.Base}
	for _, v := range versions {
		steps = append(steps, func(ctx context.Context) error { return b.CPython(ctx, v) })
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "images: %v\n", err)
			return 2
		}
	}
	return 0
}

// moduleRoot is the nearest directory up from here with sockspec's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/sockspec/sockspec\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from inside the sockspec source tree (no go.mod of github.com/sockspec/sockspec above %s)", dir)
		}
		dir = parent
	}
}
