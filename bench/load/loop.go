package main

import (
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// loopResult is what a closed-loop run measured.
type loopResult struct {
	lat      []time.Duration // successful operations, sorted
	errs     int64
	firstErr atomic.Value
	elapsed  time.Duration
}

// closedLoop runs op from clients goroutines, each issuing the next
// operation when the last returns, for duration; each client has its own
// random source (seeded by its number and seed).
func closedLoop(clients int, duration time.Duration, seed uint64, op func(r *rand.Rand) error) *loopResult {
	res := &loopResult{}
	lat := make([][]time.Duration, clients)
	var errs atomic.Int64
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), seed))
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := op(r); err != nil {
					if errs.Add(1) == 1 {
						res.firstErr.Store(err.Error())
					}
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.errs = errs.Load()
	for _, l := range lat {
		res.lat = append(res.lat, l...)
	}
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}

// pct is the p-th quantile (0..1) of the successful latencies.
func (r *loopResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(float64(len(r.lat)-1)*p)]
}

func (r *loopResult) perSecond() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }
