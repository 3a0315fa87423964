package loadgen

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// An open loop offers its rate regardless of how slow operations are, and
// charges the queueing to latency: with 2 workers and 10 ms operations,
// 400 offered ops/s cannot be served, so latency must grow far beyond 10 ms.
func TestOpenChargesQueueing(t *testing.T) {
	res := Open(400, 2, 500*time.Millisecond, 1, func(*rand.Rand) error { time.Sleep(10 * time.Millisecond); return nil })
	if len(res.Lat) != 200 {
		t.Fatalf("open loop ran %d operations, want the 200 offered", len(res.Lat))
	}
	if p99 := res.Pct(0.99); p99 < 100*time.Millisecond {
		t.Fatalf("p99 = %s; the backlog of an overloaded server must show in latency", p99)
	}
}

func TestClosedCountsErrors(t *testing.T) {
	n := 0
	res := Closed(1, 50*time.Millisecond, 1, func(*rand.Rand) error {
		n++
		if n%2 == 0 {
			return errors.New("boom")
		}
		return nil
	})
	if res.Errs == 0 || len(res.Lat) == 0 || res.FirstErr != "boom" {
		t.Fatalf("closed loop: %d ok, %d errors, first %q", len(res.Lat), res.Errs, res.FirstErr)
	}
}

func TestClosedUntilStops(t *testing.T) {
	stop := make(chan struct{})
	time.AfterFunc(30*time.Millisecond, func() { close(stop) })
	res := ClosedUntil(4, stop, 1, func(*rand.Rand) error { time.Sleep(time.Millisecond); return nil })
	if len(res.Lat) == 0 || res.Elapsed > 2*time.Second {
		t.Fatalf("ClosedUntil: %d ops in %s", len(res.Lat), res.Elapsed)
	}
}
