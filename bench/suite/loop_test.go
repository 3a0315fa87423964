package main

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// An open loop offers its rate regardless of how slow operations are, and
// charges the queueing to latency: with 2 workers and 10 ms operations,
// 400 offered ops/s cannot be served, so latency must grow far beyond 10 ms.
func TestOpenLoopChargesQueueing(t *testing.T) {
	res := openLoop(400, 2, 500*time.Millisecond, 1, func(*rand.Rand) error { time.Sleep(10 * time.Millisecond); return nil })
	if len(res.lat) != 200 {
		t.Fatalf("open loop ran %d operations, want the 200 offered", len(res.lat))
	}
	if p99 := res.pct(0.99); p99 < 100 {
		t.Fatalf("p99 = %.1f ms; the backlog of an overloaded server must show in latency", p99)
	}
}

func TestClosedLoopCountsErrors(t *testing.T) {
	n := 0
	res := closedLoop(1, 50*time.Millisecond, 1, func(*rand.Rand) error {
		n++
		if n%2 == 0 {
			return errors.New("boom")
		}
		return nil
	})
	if res.errs == 0 || len(res.lat) == 0 || res.firstErr != "boom" {
		t.Fatalf("closed loop: %d ok, %d errors, first %q", len(res.lat), res.errs, res.firstErr)
	}
}

func TestFeaturesOf(t *testing.T) {
	req := row{ts: 100_000_000, v: 1, cat: "a"}
	stored := []row{
		{ts: req.ts - 5_000, v: 2, cat: "a"},     // in every window
		{ts: req.ts - 60_000, v: 4, cat: "b"},    // 1 h and 1 d
		{ts: req.ts - 7_200_000, v: 8, cat: "c"}, // 1 d only
		{ts: req.ts - 90_000_000, v: 16, cat: "d"},
	}
	f := featuresOf(req, stored)
	if f.sum10s != 3 || f.cnt1h != 3 || f.avg1h != 7.0/3 || f.max1d != 8 || f.cats1d != 3 {
		t.Fatalf("features = %+v", f)
	}
}
