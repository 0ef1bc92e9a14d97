package containers

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sockspec/sockspec/containers/images"
)

// needEngine returns the engine, or skips the test with the reason when
// no engine answers; under CI=true a missing engine fails instead.
func needEngine(t testing.TB) *Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), engineBound)
	defer cancel()
	e, err := Connect(ctx)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no Docker engine: %v", err)
		}
		t.Skipf("no Docker engine answers, so the container tier cannot be tested: %v", err)
	}
	return e
}

// needImage skips (fails under CI) when image is not built.
func needImage(t testing.TB, e *Engine, image string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, ok := images.Inputs(ctx, e.Client, image); !ok {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the image %s is not built: run make images", image)
		}
		t.Skipf("the image %s is not built: run make images", image)
	}
}

// runContainers lists the containers of this test process's run.
func runContainers(t testing.TB, e *Engine) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := e.Client.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", LabelRun+"="+RunID())})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs.Items {
		ids = append(ids, short(c.ID)+" "+c.Labels[LabelRole])
	}
	return ids
}

// openTarget opens name and closes it at the end of the test, checking
// that nothing of the run is left.
func openTarget(t *testing.T, arg string, o Options) *Target {
	t.Helper()
	e := needEngine(t)
	tgt, err := Open(arg, o)
	if err != nil {
		t.Fatalf("Open(%q): %v", arg, err)
	}
	t.Cleanup(func() {
		if err := tgt.Close(); err != nil {
			t.Errorf("closing the target: %v", err)
		}
		if left := runContainers(t, e); len(left) > 0 {
			t.Errorf("containers left after the target closed: %v", left)
		}
	})
	return tgt.(*Target)
}
