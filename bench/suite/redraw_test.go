package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The report states each target with its verdict from the measured points,
// and draws a chart per workload.
func TestReportTargetsAndCharts(t *testing.T) {
	r := &report{Params: params{Clients: []int{1, 16}, OpenLoad: []float64{0.5}}, Commit: "abc",
		Systems: []systemInfo{{Name: "openmldb-3r", Durability: "default (= fsync)", Copies: 3}, {Name: "redis", Durability: "default", Copies: 1}}}
	for _, c := range []struct {
		sys, w, load string
		ops, p99     float64
	}{
		{"openmldb-3r", "W1", "closed/1", 500, 3}, {"redis", "W1", "closed/1", 10000, 0.2},
		{"openmldb-3r", "W1", "closed/16", 3000, 20}, {"redis", "W1", "closed/16", 2000, 4},
		{"openmldb-3r", "W2", "closed/16", 7000, 1.2}, {"redis", "W2", "closed/16", 30000, 1},
	} {
		r.Points = append(r.Points, point{System: c.sys, Workload: c.w, Load: c.load, OpsPerS: c.ops, P99: c.p99, P50: c.p99 / 4, P999: c.p99 * 2})
	}
	r.Memory = []memResult{{System: "openmldb-1r", BytesPerRowCopy: 150}, {System: "redis", BytesPerRowCopy: 200}}
	dir := t.TempDir()
	if err := r.write(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| W1 rows/s, 3 replicas ≥ Redis SET (1 clients) | 500 vs 10000: 0.05× | **no** |",
		"| W1 rows/s, 3 replicas ≥ Redis SET (16 clients) | 3000 vs 2000: 1.50× | yes |",
		"| W2 p99 ≤ 1.5× Redis (closed/16) | 1.20 ms vs 1.00 ms: 1.2× | yes |",
		"| bytes per row ≤ 0.7× Redis | 150 B vs 200 B: 0.75× | **no** |",
		"![W1](w1-throughput.png)",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
	for _, f := range []string{"w1-throughput.png", "w1-latency.png", "w2-throughput.png", "results.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v (size %v)", f, err, st)
		}
	}
}
