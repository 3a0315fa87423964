package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/tests/cluster"
	"golang.org/x/sys/unix"
)

const oldVersion, newVersion = "1.0.0", "1.1.0"

// gapDebugThreshold: with GAP_DEBUG set, write gaps longer than this are
// printed; GAP_DEBUG may name the threshold itself (GAP_DEBUG=60ms).
var gapDebugThreshold = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("GAP_DEBUG")); err == nil {
		return d
	}
	return 100 * time.Millisecond
}()

// writeInterval spaces each writer's writes (UPGRADE_WRITE_INTERVAL=20ms):
// unset, every writer writes back to back and the machine's CPU is
// saturated, so the gaps measure that as much as the upgrade; paced, the
// same procedure is measured with CPU to spare.
var writeInterval, writeIntervalErr = func() (time.Duration, error) {
	v := os.Getenv("UPGRADE_WRITE_INTERVAL")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative")
	}
	if err != nil {
		return 0, fmt.Errorf("UPGRADE_WRITE_INTERVAL=%q: want a duration such as 20ms (%v)", v, err)
	}
	return d, nil
}()

// pacer holds a writer to writeInterval between writes.
type pacer struct{ next time.Time }

// wait returns once the next write is due, or false once stop is closed.
// A writer that fell behind starts afresh instead of catching up in a burst.
func (p *pacer) wait(stop <-chan struct{}) bool {
	now := time.Now()
	due := now
	if writeInterval > 0 {
		if p.next.After(now) {
			due = p.next
		}
		p.next = due.Add(writeInterval)
	}
	if !due.After(now) {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	select {
	case <-stop:
		return false
	case <-time.After(due.Sub(now)):
		return true
	}
}

// gapWriters writes unique rows to every table and partition, records every
// acknowledged row and, per partition, the longest gap between successes.
type gapWriters struct {
	*writerSet
	mu      sync.Mutex
	last    map[string]time.Time
	maxGap  map[string]time.Duration
	measure atomic.Bool
	readErr atomic.Int64
	reads   atomic.Int64
}

// startGapWriters runs one sequential writer per partition of every table
// (so a stall of one partition cannot hide behind another's), plus a reader.
func startGapWriters(t testing.TB, cli *client.Client, db string, tables []string) *gapWriters {
	g := &gapWriters{writerSet: &writerSet{acked: map[string]map[int64]bool{}, keys: map[string]map[string]bool{}, stop: make(chan struct{})},
		last: map[string]time.Time{}, maxGap: map[string]time.Duration{}}
	w := 0
	for _, tb := range tables {
		g.acked[tb] = map[int64]bool{}
		g.keys[tb] = map[string]bool{}
		tm, err := cli.Table(db, tb)
		if err != nil {
			t.Fatal(err)
		}
		// Ten keys per partition, found by hashing candidates.
		byPart := map[uint32][]string{}
		for i := 0; len(byPart) < tm.PartitionNum || i < 2000; i++ {
			k := fmt.Sprintf("key-%d", i)
			p := client.PartitionOf(tm, k)
			if len(byPart[p]) < 10 {
				byPart[p] = append(byPart[p], k)
			}
		}
		for pid, keys := range byPart {
			for _, k := range keys {
				g.keys[tb][k] = true
			}
			part := fmt.Sprintf("%s/%d", tb, pid)
			writer := w
			w++
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				var pace pacer
				for n := 0; pace.wait(g.stop); n++ {
					ts := int64(writer)*1_000_000_000 + int64(n) + 1
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					err := cli.Put(ctx, db, tb, []any{keys[n%len(keys)], ts, fmt.Sprintf("v%d", n)})
					cancel()
					if err != nil {
						g.errs.Add(1)
						g.lastErr.Store(fmt.Sprintf("%s: %v", part, err))
						continue
					}
					now := time.Now()
					g.mu.Lock()
					g.acked[tb][ts] = true
					if prev, ok := g.last[part]; ok && g.measure.Load() {
						if d := now.Sub(prev); d > gapDebugThreshold && os.Getenv("GAP_DEBUG") != "" {
							fmt.Printf("GAP %s %s from %s to %s\n", part, d.Round(time.Millisecond), prev.Format("15:04:05.000"), now.Format("15:04:05.000"))
						}
						if d := now.Sub(prev); d > g.maxGap[part] {
							g.maxGap[part] = d
						}
					}
					g.last[part] = now
					g.mu.Unlock()
				}
			}()
		}
	}
	if os.Getenv("GAP_DEBUG") != "" {
		// Whether this process itself stalls (GC, CPU) when the writers
		// see a gap: a goroutine sleeping 1 ms reports oversleeping.
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			prev := time.Now()
			for {
				select {
				case <-g.stop:
					return
				case <-time.After(time.Millisecond):
				}
				now := time.Now()
				if d := now.Sub(prev); d > 15*time.Millisecond {
					fmt.Printf("SELF-STALL %s from %s\n", d.Round(time.Millisecond), prev.Format("15:04:05.000"))
				}
				prev = now
			}
		}()
		// And whether the disk the tablets' Raft logs are on stalls: a
		// small write and fdatasync every 5 ms, reported when slow.
		if f, err := os.CreateTemp(t.TempDir(), "disk-probe"); err == nil {
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				defer f.Close()
				buf := make([]byte, 512)
				for {
					select {
					case <-g.stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					start := time.Now()
					_, _ = f.WriteAt(buf, 0)
					_ = unix.Fdatasync(int(f.Fd()))
					if d := time.Since(start); d > 15*time.Millisecond {
						fmt.Printf("DISK-STALL %s from %s\n", d.Round(time.Millisecond), start.Format("15:04:05.000"))
					}
				}
			}()
		}
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		r := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-g.stop:
				return
			default:
			}
			tb := tables[r.IntN(len(tables))]
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_, err := cli.Scan(ctx, db, tb, fmt.Sprintf("key-%d", r.IntN(50)), client.ScanOptions{Limit: 5})
			cancel()
			g.reads.Add(1)
			if err != nil {
				g.readErr.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return g
}

// takeGaps returns each partition's longest gap measured so far and
// starts the next measurement afresh.
func (g *gapWriters) takeGaps() map[string]time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.maxGap
	g.maxGap = map[string]time.Duration{}
	return out
}

// sortedGaps lists a partition -> longest gap map's values in order.
func sortedGaps(m map[string]time.Duration) []time.Duration {
	out := make([]time.Duration, 0, len(m))
	for _, d := range m {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// maxTolerableGap: a partition that takes writes nowhere for this long
// during the upgrade is a failure, whatever the machine's load (the
// figures themselves are reported, not asserted).
const maxTolerableGap = 5 * time.Second

// baselineWindow is how long the writers run before anything is upgraded.
const baselineWindow = 10 * time.Second

func gapFigures(d []time.Duration) string {
	return fmt.Sprintf("p50 %s p99 %s max %s", pctl(d, 0.5).Round(time.Millisecond), pctl(d, 0.99).Round(time.Millisecond), pctl(d, 1).Round(time.Millisecond))
}

func pctl(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(float64(len(d)-1)*p)]
}

func runStep(t *testing.T, what string, f func() (string, error)) string {
	t.Helper()
	start := time.Now()
	out, err := f()
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	t.Logf("%s: %s (at %s)", what, time.Since(start).Round(time.Millisecond), start.Format("15:04:05.000"))
	return out
}

// startUpgradeWorkload creates the upgrade test's tables (8 partitions × 3
// replicas, 4 × 2, 4 × 1, and a 4 × 3 table written over REST) and starts
// their writers: one sequential SDK writer per partition, a reader, and a
// REST writer through both apiservers. It returns once they are under way.
func startUpgradeWorkload(t testing.TB, c *cluster.Cluster, cli *client.Client) (*gapWriters, *restWriter) {
	ctx := cluster.Ctx(t)
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	tables := []string{"t3", "t2", "t1"}
	for i, spec := range [][2]int{{8, 3}, {4, 2}, {4, 1}} {
		if err := cli.CreateTable(ctx, eventTable("db", tables[i], spec[0], spec[1]), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cli.CreateTable(ctx, eventTable("db", "rest", 4, 3), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	if writeIntervalErr != nil {
		t.Fatal(writeIntervalErr)
	}
	if writeInterval > 0 {
		t.Logf("writers paced: one write per writer every %s (UPGRADE_WRITE_INTERVAL)", writeInterval)
	}
	g := startGapWriters(t, cli, "db", tables)
	rw := startRESTWriter(t, []string{c.APIServers[0].Endpoint, c.APIServers[1].Endpoint}, "db", "rest")
	time.Sleep(2 * time.Second)
	return g, rw
}

// rollingUpgrade performs the seed's procedure literally on a live cluster.
func rollingUpgrade(t *testing.T, autoFailover, allowSingle bool, upgradeTablets int) {
	oldRel, newRel := cluster.Release(t, oldVersion), cluster.Release(t, newVersion)
	if dir := os.Getenv("UPGRADE_FROM_RELEASE"); dir != "" {
		// A release built from an older commit (git worktree, then
		// `bash release/package.sh DIR 1.0.0`): the upgrade from what
		// operators actually run, not from this tree under another name.
		oldRel = dir
	}
	nodes, data := cluster.NodeDirs(t)
	if os.Getenv("UPGRADE_BIN_ON_DISK") != "" {
		// For comparison: node directories on the shared disk too.
		nodes = filepath.Join(data, "nodes")
	}
	extra := map[string][]string{"nameserver": {fmt.Sprintf("--auto_failover=%v", autoFailover)}}
	if os.Getenv("GAP_DEBUG") != "" {
		// Diagnosis: the tablets log each write slower than half the
		// gap threshold, with where its time went.
		extra["tablet"] = []string{"--slow_write_threshold=" + (gapDebugThreshold / 2).String()}
	}
	c, err := cluster.Layout(nodes, oldRel, cluster.Options{Nameservers: 2, Tablets: 3, APIServers: 2, DataDir: data, ExtraFlags: extra})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.StopAll()
		if t.Failed() {
			c.DumpLogs(t)
		}
	})
	if err := c.StartAll(false); err != nil {
		t.Fatal(err)
	}
	cli := connectSDK(t, c)
	g, rw := startUpgradeWorkload(t, c, cli)
	if err := cluster.SyncFS(nodes, data); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("GAP_DEBUG") != "" {
		go watchWriteBursts(c, g.stop)
	}
	// The same writers on the same cluster with nothing happening: what
	// the machine's own load costs, to read the upgrade's figures against.
	g.measure.Store(true)
	cpu := takeCPU(c)
	time.Sleep(baselineWindow)
	t.Logf("CPU with no upgrade: %s", takeCPU(c).since(cpu))
	g.measure.Store(false)
	baseline := sortedGaps(g.takeGaps())
	rowsBefore := 0
	for _, s := range cli.TableStatuses("db") {
		rowsBefore += int(s.Rows)
	}

	// 1. Nameservers: stop, back up bin, new bin, start.
	for _, ns := range c.Nameservers {
		runStep(t, "stop "+ns.Name, func() (string, error) { return ns.Script("stop", "nameserver") })
		if err := ns.BackupAndSwapBin(newRel); err != nil {
			t.Fatal(err)
		}
		runStep(t, "start "+ns.Name, func() (string, error) { return ns.Script("start", "nameserver") })
	}

	// 2. Tablets, one at a time. Gaps are measured per tablet's upgrade
	// and, per partition, over all of them.
	g.measure.Store(true)
	overall := map[string]time.Duration{}
	var perTablet []string
	for _, tb := range c.Tablets[:upgradeTablets] {
		tabletStart := time.Now()
		ep := tb.Endpoint
		pre := []string{"--cmd=pre-upgrade", "--endpoints=" + ep}
		if allowSingle {
			pre = append(pre, "--allow_single_replica")
		}
		cpu := takeCPU(c)
		out := runStep(t, "pre-upgrade "+ep, func() (string, error) { return tb.Ops(pre...) })
		t.Logf("CPU during pre-upgrade: %s", takeCPU(c).since(cpu))
		t.Logf("%s", lastLine(out))
		runStep(t, "stop "+tb.Name, func() (string, error) { return tb.Script("stop", "tablet") })
		if err := tb.BackupAndSwapBin(newRel); err != nil {
			t.Fatal(err)
		}
		runStep(t, "start "+tb.Name, func() (string, error) { return tb.Script("start", "tablet") })
		if !autoFailover {
			runStep(t, "recoverdata", func() (string, error) { return tb.Ops("--cmd=recoverdata") })
		}
		cpu = takeCPU(c)
		out = runStep(t, "post-upgrade "+ep, func() (string, error) { return tb.Ops("--cmd=post-upgrade", "--endpoints="+ep) })
		t.Logf("CPU during post-upgrade: %s", takeCPU(c).since(cpu))
		t.Logf("%s", lastLine(out))
		out = runStep(t, "showopstatus --filter=kFailed", func() (string, error) { return tb.Ops("--cmd=showopstatus", "--filter=kFailed") })
		if rows, _ := cluster.ParseTable(out); len(rows) != 0 {
			t.Fatalf("failed ops after upgrading %s:\n%s", ep, out)
		}
		runStep(t, "showtablestatus", func() (string, error) { return tb.Ops("--cmd=showtablestatus") })
		these := g.takeGaps()
		for part, d := range these {
			overall[part] = max(overall[part], d)
		}
		perTablet = append(perTablet, fmt.Sprintf("%s (%s): %s", tb.Name, time.Since(tabletStart).Round(100*time.Millisecond), gapFigures(sortedGaps(these))))
	}
	g.measure.Store(false)

	// 3. Apiservers, one at a time, while the REST client keeps writing.
	rw.measure.Store(true)
	for _, api := range c.APIServers {
		runStep(t, "stop "+api.Name, func() (string, error) { return api.Script("stop", "apiserver") })
		if err := api.BackupAndSwapBin(newRel); err != nil {
			t.Fatal(err)
		}
		runStep(t, "start "+api.Name, func() (string, error) { return api.Script("start", "apiserver") })
	}
	time.Sleep(time.Second)
	rw.measure.Store(false)

	// Rows keep growing after the upgrade.
	time.Sleep(2 * time.Second)
	rowsAfter := 0
	for _, s := range cli.TableStatuses("db") {
		rowsAfter += int(s.Rows)
	}
	g.stopAndWait()
	rw.stopAndWait()
	rw.report(t)
	if rw.ws.errs.Load() > 0 || len(rw.ws.acked["rest"]) == 0 {
		t.Errorf("REST client: %d errors, %d acknowledged; want 0 and >0", rw.ws.errs.Load(), len(rw.ws.acked["rest"]))
	}
	gaps := sortedGaps(overall)
	t.Logf("writes: %d acknowledged, %d failed calls (last: %v), %d SDK retries; reads: %d, %d failed",
		g.count(), g.errs.Load(), g.lastErr.Load(), cli.Retries.Load(), g.reads.Load(), g.readErr.Load())
	t.Logf("longest write gap per partition (%d partitions), %s with no upgrade: %s", len(baseline), baselineWindow, gapFigures(baseline))
	for _, line := range perTablet {
		t.Logf("longest write gap per partition during the upgrade of %s", line)
	}
	t.Logf("longest write gap per partition (%d partitions) over all the tablet upgrades: %s", len(gaps), gapFigures(gaps))
	if dir := os.Getenv("GAP_DEBUG_LOGS"); dir != "" {
		// Diagnosis: keep every node's logs to read beside the GAP lines.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Errorf("GAP_DEBUG_LOGS: %v", err)
		}
		for _, n := range c.All() {
			_ = exec.Command("cp", "-r", filepath.Join(n.Dir, "logs"), filepath.Join(dir, n.Name)).Run()
		}
	}
	t.Logf("Raft events in the tablets' logs (a skipped campaign stalls a leader transfer for an election timeout): %s", raftEvents(c))
	if !allowSingle && pctl(gaps, 1) > maxTolerableGap {
		t.Errorf("a partition took no write for %s during the tablet upgrades; want under %s", pctl(gaps, 1).Round(time.Millisecond), maxTolerableGap)
	}
	if rowsAfter <= rowsBefore {
		t.Errorf("Rows did not grow: %d before, %d after", rowsBefore, rowsAfter)
	}
	if !allowSingle && (g.errs.Load() > 0 || g.readErr.Load() > 0) {
		t.Errorf("clients saw %d write and %d read errors; want none", g.errs.Load(), g.readErr.Load())
	}

	checkLeaderMovesOneAtATime(t, cli)

	// Nothing acknowledged is lost or duplicated; replicas agree.
	verifyAcked(t, cli, "db", g.writerSet, 0)
	verifyAcked(t, cli, "db", rw.ws, 0)
	verifyReplicasIdentical(t, c, cli, "db")
	for _, s := range cli.TableStatuses("db") {
		if s.PartitionUnalive != 0 || len(s.Warnings) != 0 {
			t.Errorf("table %s: %d partitions unalive, warnings %v", s.Name, s.PartitionUnalive, s.Warnings)
		}
	}

	// Every upgraded component reports the new version.
	cluster.Eventually(t, 20*time.Second, "new versions reported", func() error {
		lead, standbys, err := showNSVersions(t, c)
		if err != nil {
			return err
		}
		if len(lead) == 0 || len(standbys) != 1 {
			return fmt.Errorf("showns: leader %q standbys %v", lead, standbys)
		}
		m, err := tabletStates(t, c)
		if err != nil {
			return err
		}
		for i, tb := range c.Tablets {
			want := oldVersion
			if i < upgradeTablets {
				want = newVersion
			}
			if m[tb.Endpoint]["version"] != want || m[tb.Endpoint]["state"] != "kHealthy" {
				return fmt.Errorf("tablet %s: %v, want version %s", tb.Endpoint, m[tb.Endpoint], want)
			}
			if v := statusVersion(tb.Endpoint); v != want {
				return fmt.Errorf("/status of %s says %q", tb.Endpoint, v)
			}
		}
		for _, ns := range append(append([]*cluster.Node{}, c.Nameservers...), c.APIServers...) {
			if v := statusVersion(ns.Endpoint); v != newVersion {
				return fmt.Errorf("/status of %s says %q", ns.Endpoint, v)
			}
		}
		return nil
	})
}

// checkLeaderMovesOneAtATime: pre-upgrade and post-upgrade move leaders
// one at a time (moves under way together each hold their partition's
// writes longer), so no kChangeLeaderOP may start before the previous one
// ended.
func checkLeaderMovesOneAtATime(t *testing.T, cli *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := cli.NameServer(ctx)
	if err != nil {
		t.Fatalf("nameserver: %v", err)
	}
	resp, err := ns.ShowOpStatus(ctx, connect.NewRequest(&openmldbv1.ShowOpStatusRequest{Pid: -1}))
	if err != nil {
		t.Fatalf("showopstatus: %v", err)
	}
	var moves []*openmldbv1.OpInfo
	for _, op := range resp.Msg.Ops {
		if op.OpType == "kChangeLeaderOP" {
			moves = append(moves, op)
		}
	}
	sort.Slice(moves, func(i, j int) bool { return moves[i].StartTimeMs < moves[j].StartTimeMs })
	if len(moves) < 2 {
		t.Fatalf("%d kChangeLeaderOP in showopstatus; the upgrade moves leaders several times", len(moves))
	}
	var took []time.Duration
	for _, op := range moves {
		took = append(took, time.Duration(op.EndTimeMs-op.StartTimeMs)*time.Millisecond)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("%d kChangeLeaderOP, one at a time, each from submission to done: %s", len(moves), gapFigures(took))
	for i := 1; i < len(moves); i++ {
		prev, op := moves[i-1], moves[i]
		if op.StartTimeMs < prev.EndTimeMs {
			t.Errorf("op %d (%s pid %d) started %d ms before op %d (%s pid %d) ended: leader moves overlapped",
				op.OpId, op.Name, op.Pid, prev.EndTimeMs-op.StartTimeMs, prev.OpId, prev.Name, prev.Pid)
		}
	}
}

// raftEvents counts the dragonboat warnings that explain long write gaps
// in every tablet's logs. "connect and process failed" is a trip of
// dragonboat's per-peer circuit breaker, which drops every message to that
// peer for 0.5-1 s; with our transport it should only trip while a peer is
// down.
func raftEvents(c *cluster.Cluster) string {
	kinds := []string{"campaign skipped", "dropped proposal, leader transferring", "LeaderTransfer ignored", "connect and process failed"}
	counts := make([]int, len(kinds))
	for _, n := range c.Tablets {
		files, _ := filepath.Glob(filepath.Join(n.Dir, "logs", "*"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for i, k := range kinds {
				counts[i] += strings.Count(string(data), k)
			}
		}
	}
	var parts []string
	for i, k := range kinds {
		parts = append(parts, fmt.Sprintf("%q %d", k, counts[i]))
	}
	return strings.Join(parts, ", ")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestRollingUpgradeAutoFailoverOff(t *testing.T) {
	rollingUpgrade(t, false, false, 3)
}

func TestRollingUpgradeAutoFailoverOn(t *testing.T) {
	rollingUpgrade(t, true, false, 3)
}

func TestRollingUpgradeAllowSingleReplica(t *testing.T) {
	rollingUpgrade(t, false, true, 1)
}

// watchWriteBursts is a diagnosis (GAP_DEBUG): every 10 ms it reads what
// each node process has written to storage (/proc/<pid>/io write_bytes)
// and what each disk has written (/proc/diskstats), and prints each 100 ms
// window in which a process wrote more than 2 MiB (WRITE-BURST) or a
// disk more than 4 MiB (DISK-WRITES, with the kernel's dirty and writeback
// bytes), to read beside the GAP and DISK-STALL lines.
func watchWriteBursts(c *cluster.Cluster, stop <-chan struct{}) {
	type sample struct {
		at    time.Time
		bytes int64
	}
	hist := map[int][]sample{}
	var nodes []*cluster.Node
	for _, group := range [][]*cluster.Node{c.Coords, c.Nameservers, c.Tablets, c.APIServers} {
		nodes = append(nodes, group...)
	}
	reported := map[int]time.Time{}
	disks, diskReported := map[string][]sample{}, map[string]time.Time{}
	for {
		select {
		case <-stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		now := time.Now()
		if b, err := os.ReadFile("/proc/diskstats"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Fields(line)
				if len(f) < 12 || strings.HasPrefix(f[2], "loop") || strings.HasPrefix(f[2], "ram") {
					continue
				}
				var sectors int64
				fmt.Sscan(f[9], &sectors)
				dev := f[2]
				h := append(disks[dev], sample{now, sectors * 512})
				for len(h) > 1 && now.Sub(h[0].at) > 100*time.Millisecond {
					h = h[1:]
				}
				disks[dev] = h
				if d := h[len(h)-1].bytes - h[0].bytes; d > 4<<20 && now.Sub(diskReported[dev]) > 100*time.Millisecond {
					diskReported[dev] = now
					dirty := ""
					if mi, err := os.ReadFile("/proc/meminfo"); err == nil {
						for _, l := range strings.Split(string(mi), "\n") {
							if strings.HasPrefix(l, "Dirty:") || strings.HasPrefix(l, "Writeback:") {
								dirty += " " + strings.Join(strings.Fields(l), " ")
							}
						}
					}
					fmt.Printf("DISK-WRITES %s %.1fMB in %s to %s (in flight %s)%s\n", dev, float64(d)/(1<<20), now.Sub(h[0].at).Round(time.Millisecond), now.Format("15:04:05.000"), f[11], dirty)
				}
			}
		}
		for _, n := range nodes {
			pid, err := n.Pid()
			if err != nil {
				continue
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
			if err != nil {
				continue
			}
			var wb int64 = -1
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
					fmt.Sscan(v, &wb)
				}
			}
			if wb < 0 {
				continue
			}
			h := append(hist[pid], sample{now, wb})
			for len(h) > 1 && now.Sub(h[0].at) > 100*time.Millisecond {
				h = h[1:]
			}
			hist[pid] = h
			if d := wb - h[0].bytes; d > 2<<20 && now.Sub(reported[pid]) > 100*time.Millisecond {
				reported[pid] = now
				fmt.Printf("WRITE-BURST %s %.1fMB in %s to %s\n", n.Name, float64(d)/(1<<20), now.Sub(h[0].at).Round(time.Millisecond), now.Format("15:04:05.000"))
			}
		}
	}
}
