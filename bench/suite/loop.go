package main

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// point is one measured run: a workload against one system at one load.
type point struct {
	System   string  `json:"system"`
	Workload string  `json:"workload"`
	Load     string  `json:"load"`    // "closed/16" or "open/50%"
	Clients  int     `json:"clients"` // closed loop: clients; open loop: workers
	Rate     float64 `json:"rate"`    // open loop: offered ops/s
	Ops      int64   `json:"ops"`
	Errors   int64   `json:"errors"`
	FirstErr string  `json:"first_error,omitempty"`
	Seconds  float64 `json:"seconds"`
	OpsPerS  float64 `json:"ops_per_s"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	P999     float64 `json:"p999_ms"`
	// CPUPerMop is the servers' CPU-seconds per million operations.
	CPUPerMop float64 `json:"cpu_s_per_mop"`
}

// runResult is what a loop measured before it becomes a point.
type runResult struct {
	lat      []time.Duration // successful operations, sorted
	errs     int64
	firstErr string
	elapsed  time.Duration
}

func (r *runResult) pct(p float64) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	return float64(r.lat[int(float64(len(r.lat)-1)*p)]) / 1e6
}

func (r *runResult) fill(p *point) {
	p.Ops = int64(len(r.lat))
	p.Errors = r.errs
	p.FirstErr = r.firstErr
	p.Seconds = r.elapsed.Seconds()
	p.OpsPerS = float64(len(r.lat)) / r.elapsed.Seconds()
	p.P50, p.P99, p.P999 = r.pct(0.5), r.pct(0.99), r.pct(0.999)
}

type opFunc func(r *rand.Rand) error

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

func (c *collector) result(elapsed time.Duration) *runResult {
	slices.Sort(c.lat)
	r := &runResult{lat: c.lat, errs: c.errs.Load(), elapsed: elapsed}
	if e, ok := c.firstErr.Load().(string); ok {
		r.firstErr = e
	}
	return r
}

// closedLoop runs op from clients goroutines, each issuing its next
// operation when the last returns, for d.
func closedLoop(clients int, d time.Duration, seed uint64, op opFunc) *runResult {
	var c collector
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), seed))
			var lat []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := op(r); err != nil {
					c.fail(err)
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			c.merge(lat)
		}()
	}
	wg.Wait()
	return c.result(time.Since(start))
}

// openLoop offers rate operations a second on a fixed schedule for d,
// served by up to workers goroutines. Latency counts from the moment an
// operation was due, not from when a worker got to it, so a server that
// falls behind shows it in p99 instead of hiding it (coordinated omission).
func openLoop(rate float64, workers int, d time.Duration, seed uint64, op opFunc) *runResult {
	var c collector
	n := int(rate * d.Seconds())
	if n < 1 {
		n = 1
	}
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
