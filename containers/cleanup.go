package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/moby/moby/client"
)

// Without the reaper, the tier removes what it starts itself: each
// session its container, each target its network holder and network, and
// Sweep, at the start of a run, what runs that died (kill -9, a crash)
// left: every container and network labelled with a harness pid that no
// longer runs.

var sweepMu sync.Mutex
var swept bool

// sweepOnce sweeps at the first Open of the process.
func sweepOnce(e *Engine, log io.Writer) {
	sweepMu.Lock()
	defer sweepMu.Unlock()
	if swept {
		return
	}
	swept = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*removeBound)
	defer cancel()
	if removed, err := Sweep(ctx, e); err != nil && log != nil {
		fmt.Fprintf(log, "containers: removing what dead runs left: %v\n", err)
	} else if removed != "" && log != nil {
		fmt.Fprintf(log, "containers: %s\n", removed)
	}
}

// Sweep removes every container and network of a run whose harness is
// gone, and says what it removed ("" when nothing).
func Sweep(ctx context.Context, e *Engine) (string, error) {
	cs, err := e.Client.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", LabelRun)})
	if err != nil {
		return "", fmt.Errorf("listing containers: %w", err)
	}
	var errs []error
	containers := map[string][]string{} // run → container ids
	for _, c := range cs.Items {
		if harnessAlive(c.Labels) {
			continue
		}
		if err := removeContainer(ctx, e, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		run := c.Labels[LabelRun]
		containers[run] = append(containers[run], short(c.ID))
	}
	ns, err := e.Client.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("label", LabelRun)})
	if err != nil {
		return "", errors.Join(append(errs, fmt.Errorf("listing networks: %w", err))...)
	}
	networks := map[string][]string{}
	for _, n := range ns.Items {
		if harnessAlive(n.Labels) {
			continue
		}
		if _, err := e.Client.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, err)
			continue
		}
		networks[n.Labels[LabelRun]] = append(networks[n.Labels[LabelRun]], n.Name)
	}
	var said string
	for run, ids := range containers {
		said += fmt.Sprintf("removed %d container(s) %v of dead run %s; ", len(ids), ids, run)
	}
	for run, names := range networks {
		said += fmt.Sprintf("removed network(s) %v of dead run %s; ", names, run)
	}
	if said != "" {
		said = said[:len(said)-2] + " (their harness process is gone)"
	}
	return said, errors.Join(errs...)
}

// RemoveRun removes every container and network of this process's run:
// what an interrupted harness calls before it exits.
func RemoveRun(ctx context.Context) error {
	engineMu.Lock()
	e := engine
	engineMu.Unlock()
	if e == nil {
		return nil
	}
	f := make(client.Filters).Add("label", LabelRun+"="+RunID())
	var errs []error
	cs, err := e.Client.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return err
	}
	for _, c := range cs.Items {
		if err := removeContainer(ctx, e, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	ns, err := e.Client.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, n := range ns.Items {
		if _, err := e.Client.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
