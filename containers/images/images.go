// Package images builds the images the container tier runs: the reference
// (FROM scratch and the static sockspec binary, whose adapter is
// "sockspec adapter"), a Debian bookworm minbase base image, and one image
// per CPython version (the base, the pyenv interpreter tree copied at its
// own path, and adapters/cpython/driver.py).
//
// Nothing is ever pulled: the base image is made with debootstrap and
// imported, and every other image is built FROM it or FROM scratch. Each
// image carries the label InputsLabel, a hash of what it was made from;
// an image whose label matches is current and is not built again.
package images

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/client"
)

// Image names. Tags are fixed: the label, not the tag, says whether an
// image is current.
const (
	ReferenceImage = "sockspec/reference:latest"
	BaseImage      = "sockspec/base:bookworm"
	cpythonRepo    = "sockspec/cpython"
	// InputsLabel is the hash of an image's inputs.
	InputsLabel = "org.sockspec.inputs"
	// KindLabel says which recipe made an image: reference, base, cpython.
	KindLabel = "org.sockspec.kind"
)

// CPythonImage is the image name of CPython version ("3.11").
func CPythonImage(version string) string { return cpythonRepo + ":" + version }

// PythonDir is where a CPython image holds its interpreter tree: the path
// pyenv built it for (its rpath and prefix point there).
func PythonDir(patch string) string { return "/root/.pyenv/versions/" + patch }

// DriverPath is driver.py's path in a CPython image.
const DriverPath = "/opt/sockspec/driver.py"

// ReferenceBinary is the sockspec binary's path in the reference image.
const ReferenceBinary = "/sockspec"

// User is the unprivileged user the images run as (nobody:nogroup).
const User = "65534:65534"

// Builder builds images with one Docker client and reports progress.
type Builder struct {
	Client *client.Client
	// Log receives one line per step.
	Log io.Writer
	// ModuleRoot is the sockspec source tree (for the reference binary).
	ModuleRoot string
	// Force builds even what is current.
	Force bool
}

func (b *Builder) logf(format string, args ...any) {
	if b.Log != nil {
		fmt.Fprintf(b.Log, "images: "+format+"\n", args...)
	}
}

// current reports whether image exists with inputs hash.
func (b *Builder) current(ctx context.Context, image, hash string) bool {
	if b.Force {
		return false
	}
	got, ok := Inputs(ctx, b.Client, image)
	return ok && got == hash
}

// Inputs returns the inputs hash an image carries, and whether the image
// exists.
func Inputs(ctx context.Context, c *client.Client, image string) (string, bool) {
	res, err := c.ImageInspect(ctx, image)
	if err != nil {
		return "", false
	}
	if res.Config == nil {
		return "", true
	}
	return res.Config.Labels[InputsLabel], true
}

// step runs one image's recipe unless the image is current.
func (b *Builder) step(ctx context.Context, image, hash string, build func(context.Context) error) error {
	if b.current(ctx, image, hash) {
		b.logf("%-28s up to date (inputs %s)", image, short(hash))
		return nil
	}
	b.logf("%-28s building (inputs %s)…", image, short(hash))
	old, _ := b.Client.ImageInspect(ctx, image)
	begun := time.Now()
	if err := build(ctx); err != nil {
		return fmt.Errorf("building %s: %w", image, err)
	}
	b.logf("%-28s built in %.1fs", image, time.Since(begun).Seconds())
	// The image it replaces would stay behind untagged; one still used by
	// a container or another image is left to docker image prune.
	if now, err := b.Client.ImageInspect(ctx, image); err == nil && old.ID != "" && old.ID != now.ID {
		_, _ = b.Client.ImageRemove(ctx, old.ID, client.ImageRemoveOptions{PruneChildren: true})
	}
	return nil
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
