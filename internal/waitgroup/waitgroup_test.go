package waitgroup

import (
	"sync"
	"testing"
	"time"
)

func TestWithin(t *testing.T) {
	var wg sync.WaitGroup
	if !Within(&wg, time.Second) {
		t.Fatal("an empty group was not done")
	}
	wg.Add(1)
	if Within(&wg, 10*time.Millisecond) {
		t.Fatal("a group with a member still running was done")
	}
	release := make(chan struct{})
	go func() { <-release; wg.Done() }()
	close(release)
	if !Within(&wg, 5*time.Second) {
		t.Fatal("the group was not done once its member ended")
	}
}
