package probe

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunMeasuresAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	res, err := Run(Config{Dir: dir, Writers: 2, Duration: 200 * time.Millisecond, Block: 512, Slow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Latencies) == 0 {
		t.Fatal("no syncs measured")
	}
	if res.Quantile(0) > res.Quantile(0.5) || res.Quantile(0.5) > res.Quantile(1) {
		t.Fatalf("quantiles out of order: %s %s %s", res.Quantile(0), res.Quantile(0.5), res.Quantile(1))
	}
	if len(res.SlowStarts) != 0 {
		t.Fatalf("%d syncs slower than an hour", len(res.SlowStarts))
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("probe left %d entries in %s", len(left), dir)
	}
	var out bytes.Buffer
	res.Print(&out)
	if !strings.Contains(out.String(), "syncs ") || !strings.Contains(out.String(), "p99 ") {
		t.Fatalf("report lacks the latency line:\n%s", out.String())
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ok := Config{Dir: t.TempDir(), Writers: 1, Duration: time.Second, Block: 1, Slow: time.Millisecond}
	cases := map[string]func(*Config){
		"--dir is required": func(c *Config) { c.Dir = "" },
		"no such file":      func(c *Config) { c.Dir = filepath.Join(c.Dir, "missing") },
		"not a directory":   func(c *Config) { c.Dir = file },
		"--writers":         func(c *Config) { c.Writers = 0 },
		"--duration":        func(c *Config) { c.Duration = 0 },
		"--block":           func(c *Config) { c.Block = 0 },
		"--slow":            func(c *Config) { c.Slow = -1 },
	}
	for want, mutate := range cases {
		c := ok
		mutate(&c)
		_, err := Run(c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

func TestPhaseHistogram(t *testing.T) {
	base := time.Unix(1000, 0)
	r := &Result{SlowStarts: []time.Time{
		base.Add(3 * time.Millisecond),   // bucket 0
		base.Add(103 * time.Millisecond), // bucket 0, next period
		base.Add(247 * time.Millisecond), // bucket 4
		base.Add(999 * time.Millisecond), // bucket 9
	}}
	if got, want := r.PhaseHistogram(), [10]int{2, 0, 0, 0, 1, 0, 0, 0, 0, 1}; got != want {
		t.Fatalf("histogram %v, want %v", got, want)
	}
}
