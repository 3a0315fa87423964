package tests

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

// BenchmarkSteadyWrites: the rolling-upgrade test's cluster and writers
// (1 coord, 2 nameservers, 3 tablets, 2 apiservers; 16 partitions written
// by one sequential SDK writer each, plus a reader and a REST writer) with
// nothing else happening, for 15 s. It reports the write rate, the
// per-partition longest write gap the upgrade test's figures are read
// against, and the CPU the whole cluster and the writers used per 1,000
// writes. The gaps follow the machine's load; the CPU per write is the
// steadier figure to compare builds with.
//
//	go test -run '^$' -bench SteadyWrites -benchtime=1x ./tests/
//
// BENCH_RELEASE=<release dir> runs it against another build;
// STEADY_PROFILE=<dir> saves a CPU profile of each tablet and of the test
// process (the writers) over the window into dir; STEADY_WINDOW=60s
// measures longer than 15 s (long enough to include the Raft log store's
// memtable flushes, for instance).
func BenchmarkSteadyWrites(b *testing.B) {
	c, cli := startBenchCluster(b, cluster.Options{Nameservers: 2, Tablets: 3, APIServers: 2})
	g, rw := startUpgradeWorkload(b, c, cli)
	if err := cluster.SyncFS(c.Dir); err != nil {
		b.Fatal(err)
	}
	defer func() {
		close(g.stop)
		close(rw.ws.stop)
		g.wg.Wait()
		rw.ws.wg.Wait()
	}()
	window := 15 * time.Second
	if v := os.Getenv("STEADY_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("STEADY_WINDOW=%q: want a positive duration such as 60s", v)
		}
		window = d
	}
	before, cpu := g.count(), takeCPU(c)
	g.measure.Store(true)
	profiled := profileWindow(b, c, window)
	time.Sleep(window)
	g.measure.Store(false)
	profiled()
	after := takeCPU(c)
	writes := g.count() - before
	gaps := sortedGaps(g.takeGaps())
	var used time.Duration
	for _, n := range after.names {
		used += after.used[n] - cpu.used[n]
	}
	b.Logf("%d SDK writes in %s (%.0f/s); longest write gap per partition %s; CPU: %s",
		writes, window, float64(writes)/window.Seconds(), gapFigures(gaps), after.since(cpu))
	if writes == 0 {
		b.Fatal("no write succeeded")
	}
	b.ReportMetric(float64(writes)/window.Seconds(), "writes/s")
	b.ReportMetric(ms(pctl(gaps, 0.5)), "gap-p50-ms")
	b.ReportMetric(ms(pctl(gaps, 0.99)), "gap-p99-ms")
	b.ReportMetric(ms(used)*1000/float64(writes), "cpu-ms/1000writes")
}

// profileWindow starts CPU profiles of the tablets and of this process for
// window when STEADY_PROFILE names a directory; the returned func waits for
// them and stops this process's profile. Without STEADY_PROFILE it does
// nothing.
func profileWindow(b *testing.B, c *cluster.Cluster, window time.Duration) func() {
	dir := os.Getenv("STEADY_PROFILE")
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatalf("STEADY_PROFILE: %v", err)
	}
	self, err := os.Create(filepath.Join(dir, "test.pprof"))
	if err != nil {
		b.Fatalf("STEADY_PROFILE: %v", err)
	}
	if err := pprof.StartCPUProfile(self); err != nil {
		b.Fatalf("STEADY_PROFILE: %v", err)
	}
	var wg sync.WaitGroup
	for _, n := range c.Tablets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", n.Endpoint, int(window.Seconds())-1)
			resp, err := http.Get(url)
			if err != nil {
				b.Errorf("profile of %s: %v", n.Name, err)
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("%s", resp.Status)
			}
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, n.Name+".pprof"), data, 0o644)
			}
			if err != nil {
				b.Errorf("profile of %s: %v", n.Name, err)
			}
		}()
	}
	return func() {
		pprof.StopCPUProfile()
		self.Close()
		wg.Wait()
		b.Logf("CPU profiles in %s", dir)
	}
}
