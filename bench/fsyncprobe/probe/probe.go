// Package probe runs the fsync latency probe behind bench/fsyncprobe.
package probe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Config says what to measure.
type Config struct {
	Dir      string
	Writers  int
	Duration time.Duration
	Block    int
	Slow     time.Duration
}

// Result holds every sync's latency and when each slow one started.
type Result struct {
	Config  Config
	Elapsed time.Duration
	// Latencies of all syncs, sorted.
	Latencies []time.Duration
	// SlowStarts are the wall-clock start times of the slow syncs.
	SlowStarts []time.Time
}

func (c Config) validate() error {
	switch {
	case c.Dir == "":
		return errors.New("--dir is required: a directory on the disk to test")
	case c.Writers < 1:
		return fmt.Errorf("--writers must be at least 1, got %d", c.Writers)
	case c.Duration <= 0:
		return fmt.Errorf("--duration must be positive, got %s", c.Duration)
	case c.Block < 1:
		return fmt.Errorf("--block must be at least 1 byte, got %d", c.Block)
	case c.Slow <= 0:
		return fmt.Errorf("--slow must be positive, got %s", c.Slow)
	}
	st, err := os.Stat(c.Dir)
	if err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("--dir %s is not a directory", c.Dir)
	}
	return nil
}

// Run appends and syncs from cfg.Writers goroutines for cfg.Duration.
func Run(cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cfg.Dir, "fsyncprobe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	type part struct {
		lat  []time.Duration
		slow []time.Time
		err  error
	}
	parts := make([]part, cfg.Writers)
	start := time.Now()
	end := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func(p *part, name string) {
			defer wg.Done()
			f, err := os.Create(name)
			if err != nil {
				p.err = err
				return
			}
			defer f.Close()
			buf := make([]byte, cfg.Block)
			for time.Now().Before(end) {
				if _, err := f.Write(buf); err != nil {
					p.err = err
					return
				}
				s := time.Now()
				if err := fdatasync(f); err != nil {
					p.err = err
					return
				}
				d := time.Since(s)
				p.lat = append(p.lat, d)
				if d >= cfg.Slow {
					p.slow = append(p.slow, s)
				}
			}
		}(&parts[i], filepath.Join(tmp, fmt.Sprintf("log-%d", i)))
	}
	wg.Wait()
	res := &Result{Config: cfg, Elapsed: time.Since(start)}
	for _, p := range parts {
		if p.err != nil {
			return nil, p.err
		}
		res.Latencies = append(res.Latencies, p.lat...)
		res.SlowStarts = append(res.SlowStarts, p.slow...)
	}
	sort.Slice(res.Latencies, func(i, j int) bool { return res.Latencies[i] < res.Latencies[j] })
	sort.Slice(res.SlowStarts, func(i, j int) bool { return res.SlowStarts[i].Before(res.SlowStarts[j]) })
	return res, nil
}

// Quantile returns the q-quantile (0..1) of the sync latencies.
func (r *Result) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(r.Latencies)-1))
	return r.Latencies[i]
}

// PhaseHistogram counts slow syncs by where they started within each 100 ms
// of wall-clock time, in ten 10 ms buckets. A flat histogram is random
// slowness; one full bucket is a periodic stall.
func (r *Result) PhaseHistogram() [10]int {
	var h [10]int
	for _, s := range r.SlowStarts {
		h[(s.UnixNano()%int64(100*time.Millisecond))/int64(10*time.Millisecond)]++
	}
	return h
}

// Print writes the report.
func (r *Result) Print(w io.Writer) {
	n := len(r.Latencies)
	fmt.Fprintf(w, "dir %s, %d writers, %d-byte appends, %s\n", r.Config.Dir, r.Config.Writers, r.Config.Block, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "syncs %d (%.0f/s)  p50 %s  p99 %s  p99.9 %s  max %s\n", n, float64(n)/r.Elapsed.Seconds(),
		r.Quantile(0.5).Round(time.Microsecond), r.Quantile(0.99).Round(time.Microsecond),
		r.Quantile(0.999).Round(time.Microsecond), r.Quantile(1).Round(time.Microsecond))
	fmt.Fprintf(w, "slow (>= %s): %d (%.2f%%)\n", r.Config.Slow, len(r.SlowStarts), 100*float64(len(r.SlowStarts))/float64(max(n, 1)))
	if len(r.SlowStarts) > 0 {
		fmt.Fprintf(w, "slow syncs by start within each 100 ms of wall clock (10 ms buckets): %v\n", r.PhaseHistogram())
	}
}
