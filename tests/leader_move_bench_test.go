package tests

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

// BenchmarkLeaderMoveWriteGap: what one leader move costs the writes of its
// partition. 8 partitions × 3 replicas on 3 tablets, one sequential writer
// per partition; each partition's leader is moved (changeleader) three
// times, one move at a time, and for each move the longest gap between
// two successful writes of that partition around it is taken. Reported:
// those gaps' p50 and max, and the same for the same windows replayed
// afterwards with nothing moving (the machine's own share).
//
//	go test -run '^$' -bench LeaderMoveWriteGap -benchtime=1x ./tests/
//
// BENCH_RELEASE=<release dir> runs it against another build.
func BenchmarkLeaderMoveWriteGap(b *testing.B) {
	c, cli, ctx := benchCluster(b, 3)
	const parts = 8
	if err := cli.CreateTable(ctx, eventTable("db", "t", parts, 3), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		b.Fatal(err)
	}
	tm, _ := cli.Table("db", "t")
	var mu sync.Mutex
	oks := make([][]time.Time, parts) // each partition's successful writes, in order
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for pid := 0; pid < parts; pid++ {
		key := ""
		for i := 0; key == ""; i++ {
			if k := fmt.Sprintf("m%d", i); client.PartitionOf(tm, k) == uint32(pid) {
				key = k
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := cli.Put(wctx, "db", "t", []any{key, int64(n + 1), "w"})
				cancel()
				if err != nil {
					b.Errorf("partition %d: %v", pid, err)
					return
				}
				mu.Lock()
				oks[pid] = append(oks[pid], time.Now())
				mu.Unlock()
			}
		}()
	}
	longestGap := func(pid int, from, to time.Time) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		var m time.Duration
		for i := 1; i < len(oks[pid]); i++ {
			if oks[pid][i].After(from) && oks[pid][i-1].Before(to) {
				m = max(m, oks[pid][i].Sub(oks[pid][i-1]))
			}
		}
		return m
	}
	time.Sleep(3 * time.Second)
	var moves []time.Duration
	type window struct {
		pid        int
		start, end time.Duration // since movesStart
	}
	var windows []window
	movesStart := time.Now()
	for round := 0; round < 3; round++ {
		for pid := 0; pid < parts; pid++ {
			eps, leader := replicasOf(b, cli, "t", uint32(pid))
			target := ""
			for _, e := range eps {
				if e != leader {
					target = e
					break
				}
			}
			start := time.Now()
			out, err := c.NSClient(ctx, fmt.Sprintf("changeleader t %d %s", pid, target), "--database=db")
			if err != nil || !strings.Contains(out, "change leader ok") {
				b.Fatalf("changeleader t %d %s: %v\n%s", pid, target, err, out)
			}
			waitOpsFinished(b, c, 30*time.Second)
			cluster.Eventually(b, 10*time.Second, "leader moved", func() error {
				if _, l := replicasOf(b, cli, "t", uint32(pid)); l != target {
					return fmt.Errorf("leader of %d is %s, want %s", pid, l, target)
				}
				return nil
			})
			time.Sleep(300 * time.Millisecond) // the first writes at the new leader count
			moves = append(moves, longestGap(pid, start, time.Now()))
			windows = append(windows, window{pid, start.Sub(movesStart), time.Since(movesStart)})
		}
	}
	movesTook := time.Since(movesStart)
	// The same windows again, with nothing moving: what the machine's
	// load alone costs over windows that long.
	quietStart := time.Now()
	time.Sleep(movesTook)
	var quiet []time.Duration
	for _, w := range windows {
		quiet = append(quiet, longestGap(w.pid, quietStart.Add(w.start), quietStart.Add(w.end)))
	}
	close(stop)
	wg.Wait()
	sort.Slice(moves, func(i, j int) bool { return moves[i] < moves[j] })
	sort.Slice(quiet, func(i, j int) bool { return quiet[i] < quiet[j] })
	b.Logf("%d moves in %s: longest write gap of the moved partition p50 %s, max %s; the same windows with nothing moving: p50 %s, max %s",
		len(moves), movesTook.Round(time.Millisecond), moves[len(moves)/2].Round(time.Millisecond), moves[len(moves)-1].Round(time.Millisecond),
		quiet[len(quiet)/2].Round(time.Millisecond), quiet[len(quiet)-1].Round(time.Millisecond))
	b.ReportMetric(ms(moves[len(moves)/2]), "move-p50-ms")
	b.ReportMetric(ms(moves[len(moves)-1]), "move-max-ms")
	b.ReportMetric(ms(quiet[len(quiet)/2]), "quiet-p50-ms")
	b.ReportMetric(ms(quiet[len(quiet)-1]), "quiet-max-ms")
}
