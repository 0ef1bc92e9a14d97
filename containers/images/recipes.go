package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"

	"github.com/sockspec/sockspec/adapters/cpython"
	"github.com/sockspec/sockspec/internal/pyenv"
)

// recipeVersion changes when a recipe changes in a way its inputs do not
// show, so that every image is built again.
const recipeVersion = "1"

// Reference builds the reference image: a static sockspec binary in an
// image of its own, FROM scratch.
func (b *Builder) Reference(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "sockspec-image-ref")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "sockspec")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/sockspec")
	cmd.Dir = b.ModuleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/sockspec (CGO_ENABLED=0): %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	shell, err := os.ReadFile(staticShell)
	if err != nil {
		b.logf("%-28s no %s (apt-get install busybox-static): the image gets no /bin/sh, and FRK-07's foreign child cannot start", ReferenceImage, staticShell)
		shell = nil
	}
	hash := hashOf("reference", recipeVersion, string(data), string(shell))
	return b.step(ctx, ReferenceImage, hash, func(ctx context.Context) error {
		copyShell := ""
		if shell != nil {
			copyShell = "COPY bin /bin\n"
		}
		dockerfile := fmt.Sprintf(`FROM scratch
COPY sockspec %s
`+copyShell+`LABEL %s=%s %s=reference
USER %s
ENTRYPOINT [%q, "adapter"]
`, ReferenceBinary, InputsLabel, hash, KindLabel, User, ReferenceBinary)
		return b.build(ctx, ReferenceImage, func(tw *tar.Writer) error {
			if err := addBytes(tw, "Dockerfile", []byte(dockerfile), 0o644); err != nil {
				return err
			}
			if shell != nil {
				if err := addBytes(tw, "bin/busybox", shell, 0o755); err != nil {
					return err
				}
				// The reference's foreign child (FRK-07) is /bin/sh -c.
				if err := tw.WriteHeader(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
					return err
				}
			}
			return addBytes(tw, "sockspec", data, 0o755)
		})
	})
}

// staticShell is a statically linked shell (Debian's busybox-static) the
// reference image carries as /bin/sh: scratch has none, and the reference
// runs one for a foreign child.
const staticShell = "/bin/busybox"

// Base recipe: debootstrap's minbase of bookworm, trimmed of what no
// server reads. /root is opened (0755) so that the unprivileged user
// reaches the interpreter trees kept under it.
var (
	baseSuite  = "bookworm"
	baseMirror = "http://deb.debian.org/debian"
	baseTrim   = []string{"usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info", "var/cache/apt", "var/lib/apt/lists", "var/cache/debconf"}
)

// Base builds the base image with debootstrap (about 40 s, 120 MB).
func (b *Builder) Base(ctx context.Context) error {
	hash := hashOf("base", recipeVersion, baseSuite, baseMirror, strings.Join(baseTrim, ","))
	return b.step(ctx, BaseImage, hash, func(ctx context.Context) error {
		if _, err := exec.LookPath("debootstrap"); err != nil {
			return errors.New("debootstrap is not installed: apt-get install debootstrap")
		}
		dir, err := os.MkdirTemp("", "sockspec-image-base")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		b.logf("%-28s debootstrap --variant=minbase %s (about 40 s)…", BaseImage, baseSuite)
		cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", baseSuite, dir, baseMirror)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("debootstrap: %v\n%s", err, tail(out))
		}
		for _, p := range baseTrim {
			matches, _ := filepath.Glob(filepath.Join(dir, p, "*"))
			for _, m := range matches {
				if err := os.RemoveAll(m); err != nil {
					return err
				}
			}
		}
		if err := os.Chmod(filepath.Join(dir, "root"), 0o755); err != nil {
			return err
		}
		tarCmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-c", ".")
		out, err := tarCmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := tarCmd.Start(); err != nil {
			return err
		}
		res, err := b.Client.ImageImport(ctx, client.ImageImportSource{Source: out, SourceName: "-"}, BaseImage, client.ImageImportOptions{
			Changes: []string{"LABEL " + InputsLabel + "=" + hash + " " + KindLabel + "=base", "CMD [\"/bin/sh\"]"},
		})
		if err == nil {
			err = readStream(res)
			res.Close()
		}
		werr := tarCmd.Wait()
		return errors.Join(err, werr)
	})
}

// CPython builds the image of CPython version ("3.11"): the base image,
// the pyenv interpreter tree trimmed of tests, headers and site-packages,
// and driver.py as the entry point.
func (b *Builder) CPython(ctx context.Context, version string) error {
	exe := pyenv.Interpreter(version)
	if exe == "" {
		return fmt.Errorf("pyenv has no CPython %s under %s (pyenv install %s)", version, pyenv.Root(), version)
	}
	exe, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return err
	}
	tree := filepath.Dir(filepath.Dir(exe))
	patch := filepath.Base(tree)
	base, err := b.Client.ImageInspect(ctx, BaseImage)
	if err != nil {
		return fmt.Errorf("the base image %s is missing: build it first (make images)", BaseImage)
	}
	files, err := interpreterFiles(tree)
	if err != nil {
		return err
	}
	driver := cpython.DriverSource()
	h := sha256.New()
	fmt.Fprintf(h, "cpython|%s|%s|%s|", recipeVersion, base.ID, patch)
	h.Write(driver)
	for _, f := range files {
		fmt.Fprintf(h, "%s|%d|%d|%o\n", f.rel, f.info.Size(), f.info.ModTime().UnixNano(), f.info.Mode())
	}
	hash := hex.EncodeToString(h.Sum(nil))
	image := CPythonImage(version)
	interp := PythonDir(patch) + "/bin/" + filepath.Base(exe)
	return b.step(ctx, image, hash, func(ctx context.Context) error {
		dockerfile := fmt.Sprintf(`FROM %s
COPY py %s
COPY driver.py %s
LABEL %s=%s %s=cpython org.sockspec.python=%s
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER %s
ENTRYPOINT [%q, %q]
`, BaseImage, PythonDir(patch), DriverPath, InputsLabel, hash, KindLabel, patch, User, interp, DriverPath)
		return b.build(ctx, image, func(tw *tar.Writer) error {
			if err := addBytes(tw, "Dockerfile", []byte(dockerfile), 0o644); err != nil {
				return err
			}
			if err := addBytes(tw, "driver.py", driver, 0o644); err != nil {
				return err
			}
			for _, f := range files {
				if err := addFile(tw, filepath.Join(tree, f.rel), "py/"+f.rel, f.info); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

type treeFile struct {
	rel  string
	info fs.FileInfo
}

// skipped are parts of an interpreter tree no server imports: tests,
// headers, the static library, third-party packages, GUIs, bytecode.
func skipped(rel string, d fs.DirEntry) bool {
	base := d.Name()
	if d.IsDir() {
		switch base {
		case "__pycache__", "test", "tests", "idlelib", "tkinter", "lib-tk", "turtledemo", "ensurepip", "lib2to3", "include", "share", "pkgconfig":
			return true
		}
		if strings.HasPrefix(base, "config-") || base == "config" {
			return true
		}
		// site-packages stays, empty: the interpreter expects it.
		return false
	}
	if strings.Contains(rel, "/site-packages/") {
		return true
	}
	return strings.HasSuffix(base, ".a") || strings.HasSuffix(base, ".pyc") || strings.HasSuffix(base, ".pyo")
}

func interpreterFiles(tree string) ([]treeFile, error) {
	var files []treeFile
	err := filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tree, path)
		if rel == "." {
			return nil
		}
		if skipped(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, treeFile{rel: rel, info: info})
		return nil
	})
	return files, err
}

// build sends a build context written by fill and tags the result. The
// daemon never pulls: every FROM names a local image or scratch.
func (b *Builder) build(ctx context.Context, image string, fill func(*tar.Writer) error) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := fill(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	res, err := b.Client.ImageBuild(ctx, pr, client.ImageBuildOptions{Tags: []string{image}, Remove: true, ForceRemove: true, PullParent: false})
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	defer res.Body.Close()
	return readStream(res.Body)
}

// readStream reads a daemon's JSON progress stream and returns the error
// it carries.
func readStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func addBytes(tw *tar.Writer, name string, data []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func addFile(tw *tar.Writer, path, name string, info fs.FileInfo) error {
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	if info.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

func tail(out []byte) string {
	const keep = 1500
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	return string(out)
}
