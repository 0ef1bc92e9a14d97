package impl

import (
	"testing"
	"time"
)

// TMO-01: handle_request waits for the smaller of the socket's and the
// server's timeout; none when neither is set.
func TestTMO01EffectiveTimeout(t *testing.T) {
	none := NoTimeout()
	cases := []struct {
		socket, server, want Timeout
	}{
		{none, After(300 * time.Millisecond), After(300 * time.Millisecond)},
		{After(300 * time.Millisecond), none, After(300 * time.Millisecond)},
		{After(200 * time.Millisecond), After(time.Second), After(200 * time.Millisecond)},
		{After(time.Second), After(200 * time.Millisecond), After(200 * time.Millisecond)},
		{none, After(0), After(0)},
		{none, none, none},
	}
	for _, c := range cases {
		if got := effectiveTimeout(c.socket, c.server); got != c.want {
			t.Errorf("socket %v, server %v: got %v, want %v", c.socket, c.server, got, c.want)
		}
	}
}

func TestTimeoutStates(t *testing.T) {
	var unset Timeout
	if unset.IsSet() || unset.String() != "unset" {
		t.Fatal("zero Timeout must be unset")
	}
	if d, ok := NoTimeout().Duration(); ok || d != 0 || NoTimeout().String() != "none" {
		t.Fatal("NoTimeout must have no duration")
	}
	if d, ok := After(-time.Second).Duration(); !ok || d != 0 {
		t.Fatal("a negative timeout polls")
	}
	if unset.or(After(time.Second)) != After(time.Second) || NoTimeout().or(After(time.Second)) != NoTimeout() {
		t.Fatal("or must keep a set timeout")
	}
}
