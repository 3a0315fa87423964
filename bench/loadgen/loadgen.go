// Package loadgen drives an operation from many goroutines, closed loop
// (each client issues its next operation when the last returns) or open
// loop (operations offered on a fixed schedule), and records latencies.
// bench/load and bench/suite share it.
package loadgen

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Op is one operation; each goroutine passes its own random source.
type Op func(r *rand.Rand) error

// Result is what a run measured.
type Result struct {
	Lat      []time.Duration // successful operations, sorted
	Errs     int64
	FirstErr string
	Elapsed  time.Duration
}

// Pct is the p-th quantile (0..1) of the successful latencies.
func (r *Result) Pct(p float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	return r.Lat[int(float64(len(r.Lat)-1)*p)]
}

// PerSecond is the rate of successful operations.
func (r *Result) PerSecond() float64 { return float64(len(r.Lat)) / r.Elapsed.Seconds() }

type collector struct {
	mu       sync.Mutex
	lat      []time.Duration
	errs     atomic.Int64
	firstErr atomic.Value
}

func (c *collector) fail(err error) {
	if c.errs.Add(1) == 1 {
		c.firstErr.Store(err.Error())
	}
}

func (c *collector) merge(l []time.Duration) {
	c.mu.Lock()
	c.lat = append(c.lat, l...)
	c.mu.Unlock()
}

func (c *collector) result(elapsed time.Duration) *Result {
	slices.Sort(c.lat)
	r := &Result{Lat: c.lat, Errs: c.errs.Load(), Elapsed: elapsed}
	if e, ok := c.firstErr.Load().(string); ok {
		r.FirstErr = e
	}
	return r
}

// Closed runs op from clients goroutines for d.
func Closed(clients int, d time.Duration, seed uint64, op Op) *Result {
	stop := make(chan struct{})
	t := time.AfterFunc(d, func() { close(stop) })
	defer t.Stop()
	return ClosedUntil(clients, stop, seed, op)
}

// ClosedUntil runs op from clients goroutines until stop is closed.
func ClosedUntil(clients int, stop <-chan struct{}, seed uint64, op Op) *Result {
	var c collector
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), seed))
			var lat []time.Duration
			defer func() { c.merge(lat) }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				if err := op(r); err != nil {
					c.fail(err)
					continue
				}
				lat = append(lat, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	return c.result(time.Since(start))
}

// Open offers rate operations a second on a fixed schedule for d, served
// by up to workers goroutines. Latency counts from the moment an operation
// was due, not from when a worker got to it, so a server that falls behind
// shows it in p99 instead of hiding it (coordinated omission).
func Open(rate float64, workers int, d time.Duration, seed uint64, op Op) *Result {
	var c collector
	n := max(int(rate*d.Seconds()), 1)
	interval := time.Duration(float64(time.Second) / rate)
	due := make(chan time.Time, n)
	start := time.Now()
	go func() {
		defer close(due)
		for i := 0; i < n; i++ {
			at := start.Add(time.Duration(i) * interval)
			// Sleep only when a millisecond or more ahead: shorter sleeps
			// overshoot, and the operations due meanwhile go out together.
			if w := time.Until(at); w >= time.Millisecond {
				time.Sleep(w)
			}
			due <- at
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), seed))
			var lat []time.Duration
			for at := range due {
				if err := op(r); err != nil {
					c.fail(err)
					continue
				}
				lat = append(lat, time.Since(at))
			}
			c.merge(lat)
		}()
	}
	wg.Wait()
	return c.result(time.Since(start))
}
