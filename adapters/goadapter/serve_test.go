package goadapter_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/adapters/goadapter"
	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/spec/driver"
)

func TestMain(m *testing.M) {
	inproc.ChildMain(nil)
	os.Exit(m.Run())
}

var tcpSync = driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync}

// roundTrip drives one request through a started session: the client
// sends an echo script and must read its text back.
func roundTrip(t *testing.T, ctx context.Context, s driver.Session) {
	t.Helper()
	done := make(chan struct{})
	var r driver.Result
	var err error
	go func() {
		defer close(done)
		r, err = s.HandleRequest(ctx)
	}()
	conn, derr := s.Dial(ctx, false)
	if derr != nil {
		t.Fatalf("Dial: %v", derr)
	}
	defer conn.Close()
	if _, werr := conn.Write(driver.Echo("hi").Line()); werr != nil {
		t.Fatal(werr)
	}
	line, rerr := bufio.NewReader(conn).ReadString('\n')
	if rerr != nil || line != "hi\n" {
		t.Errorf("reply %q, %v; want \"hi\\n\"", line, rerr)
	}
	<-done
	if err != nil || r.Raised() {
		t.Fatalf("HandleRequest: %v, %v", r, err)
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Trace().Wait(wait, func(es []driver.Event) bool {
		return driver.Count(es, driver.HookHandleRequest, driver.Return) == 1
	}); err != nil {
		t.Errorf("no return of handle_request in the trace: %v", s.Trace().Events())
	}
}

// Serve, in this process on pipes: the hello comes first, then a start, a
// request served with its events before the reply, and bye ends it with
// status 0.
func TestServeSpeaksTheProtocol(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	// Whatever happens, the adapter's input ends (and Serve with it), and
	// a reader waits for no message longer than the bound.
	t.Cleanup(func() { inW.Close() })
	bound := time.AfterFunc(30*time.Second, func() { outR.CloseWithError(errors.New("no message within 30s")) })
	t.Cleanup(func() { bound.Stop() })
	status := make(chan int, 1)
	go func() {
		defer outW.Close()
		status <- goadapter.Serve(context.Background(), &inproc.Target{}, inR, outW, io.Discard)
	}()
	dec := driver.NewDecoder(outR)
	next := func() driver.Message {
		t.Helper()
		m, err := dec.Decode()
		if err != nil {
			t.Fatalf("reading the adapter: %v", err)
		}
		return m
	}
	hello := next()
	if hello.Type != driver.TypeHello || hello.Protocol != driver.ProtocolVersion || hello.Name != "reference" || hello.Language != "go" {
		t.Fatalf("first message %+v, want the reference's hello", hello)
	}
	send := func(c driver.Command) {
		t.Helper()
		if err := driver.EncodeCommand(inW, c); err != nil {
			t.Fatal(err)
		}
	}
	// replyTo reads up to the reply to id and returns it with the hooks of
	// the events that came before it.
	replyTo := func(id int64) (driver.Message, []string) {
		t.Helper()
		var hooks []string
		for {
			m := next()
			if m.Type == driver.TypeEvent {
				hooks = append(hooks, m.Event.Hook+":"+string(m.Event.Phase))
				continue
			}
			if m.Type != driver.TypeReply || m.ID != id {
				t.Fatalf("%+v, want the reply to %d", m, id)
			}
			return m, hooks
		}
	}
	send(driver.Command{ID: 1, Cmd: driver.CmdStart, Config: &tcpSync})
	started, _ := replyTo(1)
	if started.Error != "" || started.Address == "" {
		t.Fatalf("reply to start %+v", started)
	}
	send(driver.Command{ID: 2, Cmd: driver.CmdHandleRequest})
	conn, err := driver.Dial(context.Background(), driver.TCP, started.Address, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(driver.Echo("hi").Line()); err != nil {
		t.Fatal(err)
	}
	m, hooks := replyTo(2)
	if m.Result == nil || m.Result.Raised() {
		t.Fatalf("reply to handle_request %+v", m)
	}
	if len(hooks) == 0 || hooks[len(hooks)-1] != driver.HookHandleRequest+":"+string(driver.Return) {
		t.Errorf("events before the reply: %v; want them to end with handle_request's return", hooks)
	}
	send(driver.Command{ID: 3, Cmd: driver.CmdExitContext})
	if m, _ := replyTo(3); m.Error != "" {
		t.Errorf("reply to exit_context %+v", m)
	}
	send(driver.Command{ID: 4, Cmd: driver.CmdBye})
	go io.Copy(io.Discard, outR) // the events of closing, if any
	select {
	case s := <-status:
		if s != 0 {
			t.Errorf("Serve returned %d after bye, want 0", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of bye")
	}
	inW.Close()
}

// A command whose interface the session lacks is an error reply, not a
// crash of the adapter.
func TestServeAnswersWhatTheSessionLacks(t *testing.T) {
	in := strings.NewReader(`{"id":1,"cmd":"start","config":{"family":"tcp","dispatch":"sync"}}` + "\n" +
		`{"id":2,"cmd":"exit_context"}` + "\n")
	pr, pw := io.Pipe()
	bound := time.AfterFunc(30*time.Second, func() { pr.CloseWithError(errors.New("no message within 30s")) })
	defer bound.Stop()
	go func() {
		defer pw.Close()
		goadapter.Serve(context.Background(), bareTarget{&inproc.Target{}}, in, pw, io.Discard)
	}()
	dec := driver.NewDecoder(pr)
	for {
		m, err := dec.Decode()
		if err != nil {
			t.Fatalf("no reply to exit_context: %v", err)
		}
		if m.Type == driver.TypeReply && m.ID == 2 {
			if !strings.Contains(m.Error, "driver.ContextManager") {
				t.Errorf("reply %+v, want an error naming driver.ContextManager", m)
			}
			break
		}
	}
	io.Copy(io.Discard, pr)
}

// bareTarget starts sessions with the methods of driver.Session only.
type bareTarget struct{ *inproc.Target }

func (t bareTarget) Start(ctx context.Context, cfg driver.ServerConfig) (driver.Session, error) {
	s, err := t.Target.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return struct{ driver.Session }{s}, nil
}

// buildExample builds the example program into a directory of the test.
func buildExample(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "example")
	out, err := exec.Command("go", "build", "-o", bin, "./example").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./example: %v\n%s", err, out)
	}
	return bin
}

// The example is a process target: the harness reads its hello and serves
// a request through it, every message checked against the schema.
func TestExampleIsAProcessTarget(t *testing.T) {
	target := &process.Target{Argv: []string{buildExample(t)}, Validate: true}
	defer target.Close()
	if err := target.Err(); err != nil {
		t.Fatalf("the example said no hello: %v", err)
	}
	if name, _ := target.Implementation(); name != "toyserver" {
		t.Errorf("the example's hello names %q, want toyserver", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := target.Start(ctx, tcpSync)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	roundTrip(t, ctx, s)
}

// The example through the whole harness: the sockspec binary runs the
// specs of the pipeline (ORD) and timeout (TMO) rules against it, as a
// port author would. Every rule the toy server's capabilities reach
// passes; TMO-04 (signals) and TMO-06 (forking) are beyond them.
func TestExamplePassesRules(t *testing.T) {
	example := buildExample(t)
	sockspec := filepath.Join(t.TempDir(), "sockspec")
	if out, err := exec.Command("go", "build", "-o", sockspec, "../../cmd/sockspec").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sockspec: %v\n%s", err, out)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sockspec, "run", "--target", "process:"+example, "--validate-protocol",
		"--label-filter", "/rule:(ORD|TMO)-/", "--report-dir", dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sockspec run: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Rules []struct {
			Rule    string `json:"rule"`
			Outcome string `json:"outcome"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	beyond := map[string]bool{"TMO-04": true, "TMO-06": true}
	judged := 0
	for _, r := range report.Rules {
		want := "PASS"
		if beyond[r.Rule] {
			want = "N/A"
		}
		if r.Outcome != want {
			t.Errorf("%s: %s, want %s\n%s", r.Rule, r.Outcome, want, out)
		}
		judged++
	}
	if judged != 18 {
		t.Errorf("%d rules judged, want the 10 ORD and 8 TMO rules\n%s", judged, out)
	}
}

// The kit is for other modules to import: it needs spec/driver and the
// standard library, nothing else of sockspec and nothing outside it.
func TestKitImportsDriverOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "github.com/sockspec/sockspec/adapters/goadapter", "github.com/sockspec/sockspec/spec/driver":
		default:
			t.Errorf("goadapter depends on %s: keep it to spec/driver and the standard library", dep)
		}
	}
}
