package netsim

import (
	"container/heap"
	"sync"
	"time"
)

// DelayQueue runs functions at given times, in order of time and, for
// equal times, of scheduling, from a single time.AfterFunc timer. It is how
// a link model's late segments and datagrams are delivered: one queue keeps
// a stream's segments in order even when they are due at the same instant,
// and it runs on whatever clock time.AfterFunc uses, the virtual one inside
// a testing/synctest bubble. The zero value is ready to use.
type DelayQueue struct {
	mu      sync.Mutex
	jobs    jobHeap
	seq     uint64
	timer   *time.Timer
	armedAt time.Time
	gen     uint64 // invalidates a timer replaced before it fired
	running bool   // a batch is running; it arms the timer when it ends
	closed  bool
	batches sync.WaitGroup
}

type job struct {
	at  time.Time
	seq uint64
	f   func()
}

type jobHeap []job

func (h jobHeap) Len() int { return len(h) }
func (h jobHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h jobHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)   { *h = append(*h, x.(job)) }
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = job{}
	*h = old[:len(old)-1]
	return j
}

// At schedules f to run at t (at once when t has passed), on a goroutine
// of the queue's timer. f must not call Close. After Close it does nothing.
func (q *DelayQueue) At(t time.Time, f func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.seq++
	heap.Push(&q.jobs, job{at: t, seq: q.seq, f: f})
	if !q.running {
		q.armLocked()
	}
}

// Len is the number of functions waiting to run.
func (q *DelayQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

// armLocked points the timer at the earliest job.
func (q *DelayQueue) armLocked() {
	if len(q.jobs) == 0 {
		return
	}
	head := q.jobs[0].at
	if q.timer != nil && q.armedAt.Equal(head) {
		return
	}
	if q.timer != nil {
		q.timer.Stop()
	}
	q.gen++
	gen := q.gen
	q.armedAt = head
	q.timer = time.AfterFunc(time.Until(head), func() { q.run(gen) })
}

// run runs the jobs that are due, in order, then arms the timer for the
// next one.
func (q *DelayQueue) run(gen uint64) {
	q.mu.Lock()
	if q.gen != gen || q.running || q.closed {
		q.mu.Unlock()
		return
	}
	q.running = true
	q.timer = nil
	q.batches.Add(1)
	defer q.batches.Done()
	for !q.closed {
		now := time.Now()
		var due []job
		for len(q.jobs) > 0 && !q.jobs[0].at.After(now) {
			due = append(due, heap.Pop(&q.jobs).(job))
		}
		if len(due) == 0 {
			break
		}
		q.mu.Unlock()
		for _, j := range due {
			j.f()
		}
		q.mu.Lock()
	}
	q.running = false
	if !q.closed {
		q.armLocked()
	}
	q.mu.Unlock()
}

// Close drops the functions not yet run and waits for those running.
func (q *DelayQueue) Close() {
	q.mu.Lock()
	q.closed = true
	q.jobs = nil
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	q.mu.Unlock()
	q.batches.Wait()
}
