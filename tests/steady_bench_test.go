package tests

import (
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
// BENCH_RELEASE=<release dir> runs it against another build.
func BenchmarkSteadyWrites(b *testing.B) {
	c, cli := startBenchCluster(b, cluster.Options{Nameservers: 2, Tablets: 3, APIServers: 2})
	g, rw := startUpgradeWorkload(b, c, cli)
	defer func() {
		close(g.stop)
		close(rw.ws.stop)
		g.wg.Wait()
		rw.ws.wg.Wait()
	}()
	const window = 15 * time.Second
	before, cpu := g.count(), takeCPU(c)
	g.measure.Store(true)
	time.Sleep(window)
	g.measure.Store(false)
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
