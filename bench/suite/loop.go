package main

import (
	"time"

	"github.com/openmldb-go/openmldb/bench/loadgen"
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

type opFunc = loadgen.Op

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// fill records a run's result and, given the servers' CPU-seconds spent
// during it, their cost per million operations.
func (p *point) fill(r *loadgen.Result, cpu float64) {
	p.Ops = int64(len(r.Lat))
	p.Errors = r.Errs
	p.FirstErr = r.FirstErr
	p.Seconds = r.Elapsed.Seconds()
	p.OpsPerS = r.PerSecond()
	p.P50, p.P99, p.P999 = ms(r.Pct(0.5)), ms(r.Pct(0.99)), ms(r.Pct(0.999))
	if p.Ops > 0 {
		p.CPUPerMop = cpu / float64(p.Ops) * 1e6
	}
}
