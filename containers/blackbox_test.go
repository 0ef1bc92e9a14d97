package containers

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sockspec/sockspec/containers/images"
	"github.com/sockspec/sockspec/spec/driver"
)

// serverImage builds an image of adapters/blackbox's fork-per-request
// echo servers on the CPython 3.11 image, and removes it at the end.
func serverImage(t *testing.T, e *Engine) (image, python string) {
	t.Helper()
	needImage(t, e, images.CPythonImage("3.11"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := e.Client.ImageInspect(ctx, images.CPythonImage("3.11"))
	if err != nil {
		t.Fatal(err)
	}
	patch := res.Config.Labels["org.sockspec.python"]
	python = images.PythonDir(patch) + "/bin/python3.11"
	image = "sockspec/test-forkecho:" + randomSuffix()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dockerfile := fmt.Sprintf("FROM %s\nCOPY srv /srv\nENTRYPOINT [%q, \"/srv/fork_reaper.py\"]\n", images.CPythonImage("3.11"), python)
	files := map[string][]byte{"Dockerfile": []byte(dockerfile)}
	for _, f := range []string{"forkecho.py", "fork_reaper.py", "fork_noreap.py"} {
		data, err := os.ReadFile(filepath.Join("..", "adapters", "blackbox", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		files["srv/"+f] = data
	}
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	built, err := e.Client.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{image}, Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(built.Body)
	built.Body.Close()
	if _, err := e.Client.ImageInspect(ctx, image); err != nil {
		t.Fatalf("building %s: %v\n%s", image, err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = e.Client.ImageRemove(ctx, image, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return image, python
}

// TestBlackboxImage judges a server image with no adapter: the program
// gets its address from the environment, is found by its socket, and the
// hygiene oracle reads its process (a server that never reaps its
// children shows zombies).
func TestBlackboxImage(t *testing.T) {
	e := needEngine(t)
	image, python := serverImage(t, e)
	for _, c := range []struct {
		name, arg string
		zombies   bool
	}{
		{"image's own command", "image=" + image, false},
		{"cmd=", "image=" + image + ",cmd=" + python + " /srv/fork_noreap.py", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tgt := openTarget(t, c.arg, Options{Family: driver.TCP, Dispatch: driver.Forking})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := tgt.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Forking})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			conn, err := s.Dial(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			conn.Write(driver.Echo("hi").Line())
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, _ := io.ReadAll(conn)
			conn.Close()
			if string(got) != "hi\n" {
				t.Fatalf("reply %q", got)
			}
			insp := s.(driver.Inspector)
			var h driver.Hygiene
			deadline := time.Now().Add(5 * time.Second)
			for {
				if h, err = insp.Inspect(ctx); err != nil {
					t.Fatal(err)
				}
				if (h.Zombies > 0) == c.zombies && h.Children == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if (h.Zombies > 0) != c.zombies {
				t.Errorf("the server's process shows %d zombies; want zombies: %v", h.Zombies, c.zombies)
			}
			if _, err := s.HandleRequest(ctx); err == nil {
				t.Error("handle_request on a black box did not say it is unsupported")
			}
		})
	}
}
