package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Engine is the Docker engine the container tier talks to: found and
// checked through testcontainers-go, with the reaper off (this tier
// removes what it starts itself: see cleanup.go) and every published port
// on loopback; containers are made with its Client directly.
type Engine struct {
	Provider *testcontainers.DockerProvider
	Client   *client.Client
}

// engineBound bounds the first contact with the engine.
const engineBound = 10 * time.Second

var (
	engineMu sync.Mutex
	engine   *Engine
)

// Connect returns the process's engine, connecting on first use. It sets
// TESTCONTAINERS_RYUK_DISABLED=true and TESTCONTAINERS_HOST_OVERRIDE=
// 127.0.0.1 unless the user set them (testcontainers reads both once, when
// its first provider is made), and refuses an engine whose host is not a
// loopback address or a configuration that asks for the reaper.
func Connect(ctx context.Context) (*Engine, error) {
	engineMu.Lock()
	defer engineMu.Unlock()
	if engine != nil {
		return engine, nil
	}
	setDefaultEnv()
	// testcontainers' banner and notes would mix with the verdicts.
	tclog.SetDefault(tclog.NewNoopLogger())
	ctx, cancel := context.WithTimeout(ctx, engineBound)
	defer cancel()
	p, err := newProvider(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkProvider(ctx, p); err != nil {
		p.Close()
		return nil, err
	}
	engine = &Engine{Provider: p, Client: p.Client().(*testcontainers.DockerClient).Client}
	return engine, nil
}

// defaultEnv is what the tier sets unless the user did.
var defaultEnv = map[string]string{
	"TESTCONTAINERS_RYUK_DISABLED": "true",
	"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
}

func setDefaultEnv() {
	for k, v := range defaultEnv {
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
}

// ErrNoEngine is the error of a machine where no Docker engine answers.
var ErrNoEngine = errors.New("containers: no Docker engine answers: start it (systemctl start docker, or dockerd) or point DOCKER_HOST at one")

func newProvider(ctx context.Context) (p *testcontainers.DockerProvider, err error) {
	// testcontainers tries one engine after another; a DOCKER_HOST the
	// user set must answer itself, not be passed over for another.
	if host := os.Getenv("DOCKER_HOST"); host != "" {
		c, err := client.New(client.FromEnv)
		if err != nil {
			return nil, fmt.Errorf("%w (DOCKER_HOST=%s: %v)", ErrNoEngine, host, err)
		}
		_, err = c.Ping(ctx, client.PingOptions{})
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("%w (DOCKER_HOST=%s: %v)", ErrNoEngine, host, shortErr(err))
		}
	}
	// testcontainers panics on some malformed configurations; a panic is
	// an error here, not the harness's death.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (%v)", ErrNoEngine, r)
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p, err = testcontainers.NewDockerProvider()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w (no answer within %v)", ErrNoEngine, engineBound)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoEngine, err)
	}
	if _, perr := p.Client().Ping(ctx, client.PingOptions{}); perr != nil {
		p.Close()
		return nil, fmt.Errorf("%w (%v)", ErrNoEngine, perr)
	}
	return p, nil
}

// checkProvider refuses what would leak containers or expose servers.
func checkProvider(ctx context.Context, p *testcontainers.DockerProvider) error {
	if !p.Config().RyukDisabled {
		return errors.New("containers: the testcontainers reaper is enabled (TESTCONTAINERS_RYUK_DISABLED or ryuk.disabled=false); this tier removes its containers itself and cannot run the reaper: unset it")
	}
	host, err := p.DaemonHost(ctx)
	if err != nil {
		return fmt.Errorf("containers: resolving the container host: %w", err)
	}
	return CheckLoopback(host)
}

// CheckLoopback refuses a container host that is not a loopback address:
// servers under test must not be reachable from another machine.
func CheckLoopback(host string) error {
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("containers: the container host resolves to %q, not a loopback address: set TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1", host)
}
