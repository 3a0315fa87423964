package tests

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

// BenchmarkSnapshotWriteStall: how long writes stall while a tablet saves
// a snapshot of a large partition. A 1-replica partition of ~60 MB gets a
// new replica (its leader snapshots it first, see tablet's
// copyBySnapshotBytes) while one sequential writer writes to it and one to
// each partition of a small table; it reports each writer's longest write
// during the copy and during an equally long window before it.
//
//	go test -run '^$' -bench SnapshotWriteStall -benchtime=1x ./tests/
//
// BENCH_RELEASE=<release dir> runs it against another build (an older
// commit's `make release DIST=...`), to compare in one sitting.
func BenchmarkSnapshotWriteStall(b *testing.B) {
	c, cli, ctx := benchCluster(b, 2)
	if err := cli.CreateTable(ctx, eventTable("db", "big", 1, 1), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		b.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db", "small", 4, 1), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		b.Fatal(err)
	}
	value := strings.Repeat("x", 250)
	const rows = 200_000
	for i := 0; i < rows; i += 1000 {
		batch := make([][]any, 0, 1000)
		for j := i; j < i+1000; j++ {
			batch = append(batch, []any{fmt.Sprintf("k%d", j%5000), int64(j + 1), value})
		}
		if err := cli.PutBatch(ctx, "db", "big", batch); err != nil {
			b.Fatal(err)
		}
	}
	bigEps, _ := replicasOf(b, cli, "big", 0)

	type sample struct {
		at  time.Time
		lat time.Duration
	}
	var mu sync.Mutex
	samples := map[string][]sample{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	write := func(name, table, key string) {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := cli.Put(wctx, "db", table, []any{key, int64(rows + 1 + n), "w"})
			cancel()
			if err != nil {
				b.Errorf("%s: %v", name, err)
				return
			}
			mu.Lock()
			samples[name] = append(samples[name], sample{start, time.Since(start)})
			mu.Unlock()
		}
	}
	wg.Add(1)
	go write("big", "big", "k1")
	tm, _ := cli.Table("db", "small")
	for pid := uint32(0); pid < 4; pid++ {
		key := ""
		for i := 0; key == ""; i++ {
			if k := fmt.Sprintf("s%d", i); client.PartitionOf(tm, k) == pid {
				key = k
			}
		}
		eps, _ := replicasOf(b, cli, "small", pid)
		name := fmt.Sprintf("small/%d", pid)
		if eps[0] == bigEps[0] {
			name += " (beside big)"
		}
		wg.Add(1)
		go write(name, "small", key)
	}
	time.Sleep(5 * time.Second)
	copyStart := time.Now()
	out, err := c.NSClient(ctx, "addreplica big 0 "+notIn(c.Tablets, bigEps), "--database=db")
	if err != nil || !strings.Contains(out, "AddReplica ok") {
		b.Fatalf("addreplica: %v\n%s", err, out)
	}
	waitOpsFinished(b, c, 120*time.Second)
	copyEnd := time.Now()
	close(stop)
	wg.Wait()

	longestAt := func(s []sample, from, to time.Time) (time.Duration, time.Duration) {
		var m, at time.Duration
		for _, x := range s {
			if !x.at.Before(from) && x.at.Before(to) && x.lat > m {
				m, at = x.lat, x.at.Sub(copyStart)
			}
		}
		return m, at
	}
	longest := func(s []sample, from, to time.Time) time.Duration {
		m, _ := longestAt(s, from, to)
		return m
	}
	names := make([]string, 0, len(samples))
	for n := range samples {
		names = append(names, n)
	}
	sort.Strings(names)
	window := copyEnd.Sub(copyStart)
	for _, n := range names {
		before := longest(samples[n], copyStart.Add(-window), copyStart)
		during, at := longestAt(samples[n], copyStart, copyEnd)
		b.Logf("%-22s longest write before %6.1f ms, during the copy %6.1f ms (issued %.2f s into it)", n, ms(before), ms(during), at.Seconds())
		if n == "big" {
			b.ReportMetric(ms(during), "big-ms")
			b.ReportMetric(ms(before), "big-before-ms")
		}
	}
	var worstBeside, worstBesideBefore time.Duration
	for _, n := range names {
		if strings.HasSuffix(n, "(beside big)") {
			worstBeside = max(worstBeside, longest(samples[n], copyStart, copyEnd))
			worstBesideBefore = max(worstBesideBefore, longest(samples[n], copyStart.Add(-window), copyStart))
		}
	}
	b.ReportMetric(ms(worstBeside), "beside-ms")
	b.ReportMetric(ms(worstBesideBefore), "beside-before-ms")
	b.ReportMetric(window.Seconds(), "copy-s")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchCluster starts 1 coord, 1 nameserver and the given tablets from the
// release BENCH_RELEASE names (this tree's by default), with database db.
func benchCluster(b *testing.B, tablets int) (*cluster.Cluster, *client.Client, context.Context) {
	c, cli := startBenchCluster(b, cluster.Options{Nameservers: 1, Tablets: tablets})
	ctx := cluster.Ctx(b)
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		b.Fatal(err)
	}
	return c, cli, ctx
}

// startBenchCluster lays out and starts a cluster of the release
// BENCH_RELEASE names (another build, to compare; this tree's by default),
// data on disk and node directories apart (cluster.NodeDirs), and connects
// an SDK client to it.
func startBenchCluster(b *testing.B, o cluster.Options) (*cluster.Cluster, *client.Client) {
	rel := os.Getenv("BENCH_RELEASE")
	if rel == "" {
		rel = cluster.Release(b, version)
	}
	nodes, data := cluster.NodeDirs(b)
	o.DataDir = data
	c, err := cluster.Layout(nodes, rel, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.StopAll() })
	if err := c.StartAll(false); err != nil {
		b.Fatal(err)
	}
	return c, connectSDK(b, c)
}
