package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openmldb-go/openmldb/bench/loadgen"
	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

// bench runs every deployment and records into rep.
type bench struct {
	p       params
	rep     *report
	work    string
	release string
	out     string
}

// system is one configuration under test.
type system struct {
	name       string
	durability string // "default" or "fsync"
	copies     int    // copies of each row the system keeps
	st         store
	serverPIDs func() []int // every server process (CPU)
	dataPIDs   func() []int // the processes that store rows (memory)
	memoryDone bool
}

// deployment starts processes, runs systems on them, stops them.
type deployment struct {
	name string
	run  func(ctx context.Context) error
}

func (b *bench) deployments(want map[string]bool) []deployment {
	var ds []deployment
	if want["openmldb"] {
		ds = append(ds, deployment{"openmldb-go (1 coord, 1 nameserver, 3 tablets)", b.runOpenMLDB})
	}
	if want["redis"] {
		ds = append(ds, deployment{"redis (default config)", func(ctx context.Context) error { return b.runRedis(ctx, false) }})
		if b.p.Fsync {
			ds = append(ds, deployment{"redis (appendfsync always)", func(ctx context.Context) error { return b.runRedis(ctx, true) }})
		}
	}
	if want["etcd"] {
		ds = append(ds, deployment{"etcd (3 members of the coord role)", b.runEtcd})
	}
	return ds
}

func (b *bench) runOpenMLDB(ctx context.Context) error {
	oc, err := startOpenMLDB(ctx, b.work, b.release)
	if err != nil {
		return err
	}
	defer atInterrupt(func() { _ = oc.c.StopAll() })()
	defer oc.stop()
	baseRSS := sumRSS(oc.pids(oc.c.Tablets[:1]))
	var systems []*system
	for _, replicas := range []int{3, 1} {
		systems = append(systems, &system{name: fmt.Sprintf("openmldb-%dr", replicas), durability: "default (= fsync: every Raft commit is fsynced)",
			copies: replicas, st: &openmldbStore{oc: oc, replicas: replicas}, serverPIDs: oc.serverPIDs, dataPIDs: oc.tabletPIDs})
	}
	// Both memory phases first, on fresh tablets (1 replica first: it is
	// the one compared with Redis): after the workloads the tablets' heaps
	// hold garbage whose collection would hide the growth.
	for _, s := range []*system{systems[1], systems[0]} {
		if err := b.memory(ctx, s); err != nil {
			return fmt.Errorf("%s: memory phase: %w", s.name, err)
		}
	}
	for _, s := range systems {
		if err := b.runSystem(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	// where a tablet's memory went, for the memory target
	if err := saveURL("http://"+oc.c.Tablets[0].Endpoint+"/debug/pprof/heap", filepath.Join(b.out, "tablet1-heap.pb.gz")); err != nil {
		log.Printf("heap profile of tablet1: %v", err)
	}
	// recovery of tablet1 after kill -9 (every table's replicas on it)
	d, rss, err := oc.recoverTablet(ctx, "mem", memKeys(b.p.MemRows))
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	b.rep.Recovery = append(b.rep.Recovery, recovery{System: "openmldb (tablet1)", Seconds: d.Seconds(), DataBytes: rss - baseRSS,
		Note: "time from start until every partition of the 1-replica table on the tablet serves reads; data = the tablet's RSS before kill -9 minus an empty tablet's"})
	if b.p.Upgrade {
		if err := b.upgrade(ctx, oc); err != nil {
			return fmt.Errorf("rolling upgrade: %w", err)
		}
	}
	return nil
}

func (b *bench) runRedis(ctx context.Context, fsync bool) error {
	dur := "default (RDB snapshots on Redis's save schedule, no AOF)"
	if fsync {
		dur = "fsync (appendonly yes, appendfsync always)"
	}
	dir := filepath.Join(b.work, fmt.Sprintf("redis-%v", fsync))
	// standalone
	rs, err := startRedis(ctx, filepath.Join(dir, "standalone"), fsync, 0)
	if err != nil {
		return err
	}
	st := newRedisStore(rs.addr(), false)
	s := &system{name: "redis", durability: dur, copies: 1, st: st,
		serverPIDs: func() []int { return []int{rs.pid()} }, dataPIDs: func() []int { return []int{rs.pid()} }}
	err = b.runSystem(ctx, s)
	if err == nil && fsync {
		err = b.recoverRedis(ctx, rs)
	}
	st.close()
	rs.stop()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	// primary + one replica
	primary, err := startRedis(ctx, filepath.Join(dir, "primary"), fsync, 0)
	if err != nil {
		return err
	}
	defer primary.stop()
	replica, err := startRedis(ctx, filepath.Join(dir, "replica"), fsync, primary.port)
	if err != nil {
		return err
	}
	defer replica.stop()
	for deadline := time.Now().Add(30 * time.Second); redisInfoField(ctx, primary.addr(), "replication", "connected_slaves") != "1"; {
		if time.Now().After(deadline) {
			return errors.New("redis replica did not connect to its primary in 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	name, waitNote := "redis-replicated", dur+"; asynchronous replication"
	if fsync {
		waitNote = dur + "; every write waits for the replica (WAIT 1 0)"
	}
	st = newRedisStore(primary.addr(), fsync)
	defer st.close()
	pids := func() []int { return []int{primary.pid(), replica.pid()} }
	return b.runSystem(ctx, &system{name: name, durability: waitNote, copies: 2, st: st, serverPIDs: pids, dataPIDs: pids})
}

func (b *bench) recoverRedis(ctx context.Context, rs *redisServer) error {
	used := redisInfoField(ctx, rs.addr(), "memory", "used_memory")
	var bytes int64
	fmt.Sscan(used, &bytes)
	_ = rs.cmd.Process.Kill() // SIGKILL
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := rs.start(ctx); err != nil {
		return err
	}
	b.rep.Recovery = append(b.rep.Recovery, recovery{System: "redis (AOF, appendfsync always)", Seconds: time.Since(start).Seconds(), DataBytes: bytes,
		Note: "time from start until PING answers (Redis answers LOADING until the AOF is replayed); data = used_memory before kill -9"})
	return nil
}

func (b *bench) runEtcd(ctx context.Context) error {
	c, err := startEtcd(b.work, b.release)
	if err != nil {
		return err
	}
	defer atInterrupt(func() { _ = c.StopAll() })()
	defer func() { _ = c.StopAll() }()
	st, err := newEtcdStore(ctx, splitEndpoints(c.ZkCluster))
	if err != nil {
		return err
	}
	defer st.close()
	var pids []int
	for _, n := range c.Coords {
		if p, err := n.Pid(); err == nil {
			pids = append(pids, p)
		}
	}
	baseRSS, _ := rssBytes(pids[1])
	s := &system{name: "etcd", durability: "default (= fsync: etcd fsyncs every commit)", copies: 3, st: st,
		serverPIDs: func() []int { return pids }, dataPIDs: func() []int { return pids }}
	if err := b.runSystem(ctx, s); err != nil {
		return err
	}
	d, rss, err := recoverEtcdMember(ctx, c)
	if err != nil {
		return err
	}
	b.rep.Recovery = append(b.rep.Recovery, recovery{System: "etcd (member 2)", Seconds: d.Seconds(), DataBytes: rss - baseRSS,
		Note: "time from start until the member answers a linearizable read; data = its RSS before kill -9 minus an empty member's"})
	return nil
}

func saveURL(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func memKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "mem" + keyName(uint64(i))
	}
	return keys
}

// runSystem runs the memory phase, W1–W4 and W6 at every load, then W5.
func (b *bench) runSystem(ctx context.Context, s *system) error {
	log.Printf("-- %s [%s]", s.name, s.durability)
	b.rep.Systems = append(b.rep.Systems, systemInfo{Name: s.name, Durability: s.durability, Copies: s.copies})
	if !s.memoryDone {
		if err := b.memory(ctx, s); err != nil {
			return fmt.Errorf("memory phase: %w", err)
		}
	}
	for _, w := range b.workloads() {
		if err := w.prepare(ctx, s); err != nil {
			return fmt.Errorf("%s prepare: %w", w.id, err)
		}
		best := 0.0
		for _, c := range b.p.Clients {
			pt := b.measure(s, w, fmt.Sprintf("closed/%d", c), c, 0, func(op opFunc) *loadgen.Result { return loadgen.Closed(c, b.p.Point, 11, op) })
			best = max(best, pt.OpsPerS)
		}
		for _, f := range b.p.OpenLoad {
			rate := best * f
			if rate < 1 {
				continue
			}
			b.measure(s, w, fmt.Sprintf("open/%.0f%%", f*100), 256, rate, func(op opFunc) *loadgen.Result { return loadgen.Open(rate, 256, b.p.Point, 13, op) })
		}
	}
	if err := b.ttlRun(ctx, s); err != nil {
		return fmt.Errorf("W5: %w", err)
	}
	return nil
}

func (b *bench) measure(s *system, w workload, load string, clients int, rate float64, run func(opFunc) *loadgen.Result) point {
	cpu0 := sumCPU(s.serverPIDs())
	res := run(w.op(s))
	pt := point{System: s.name + durSuffix(s), Workload: w.id, Load: load, Clients: clients, Rate: rate}
	pt.fill(res, sumCPU(s.serverPIDs())-cpu0)
	b.rep.Points = append(b.rep.Points, pt)
	log.Printf("%-30s %-3s %-9s %9.0f ops/s p50 %6.2f ms p99 %7.2f ms p99.9 %7.2f ms cpu %6.1f s/Mop errors %d %s",
		pt.System, pt.Workload, pt.Load, pt.OpsPerS, pt.P50, pt.P99, pt.P999, pt.CPUPerMop, pt.Errors, pt.FirstErr)
	return pt
}

func durSuffix(s *system) string {
	if strings.HasPrefix(s.durability, "fsync") {
		return " (fsync)"
	}
	return ""
}

// memory loads MemRows rows under distinct keys and reports resident bytes
// per stored row per copy.
func (b *bench) memory(ctx context.Context, s *system) error {
	if err := s.st.setup(ctx, "mem", kindKV, 0); err != nil {
		return err
	}
	keys := memKeys(b.p.MemRows)
	rows := make([]row, len(keys))
	now := time.Now().UnixMilli()
	for i, k := range keys {
		rows[i] = row{key: k, ts: now, val: valueOf(uint64(i), b.p.ValueSize)}
	}
	time.Sleep(500 * time.Millisecond)
	before := sumRSS(s.dataPIDs())
	start := time.Now()
	if err := s.st.load(ctx, "mem", kindKV, rows); err != nil {
		return err
	}
	loadTime := time.Since(start)
	time.Sleep(b.p.Settle)
	after := sumRSS(s.dataPIDs())
	m := memResult{System: s.name + durSuffix(s), Rows: len(rows), Copies: s.copies, RSSDelta: after - before,
		BytesPerRowCopy: float64(after-before) / float64(len(rows)*s.copies), LoadRowsPerS: float64(len(rows)) / loadTime.Seconds()}
	if a, ok := s.st.(interface{ accountedBytes(ns string) int64 }); ok {
		m.AccountedPerRowCopy = float64(a.accountedBytes("mem")) / float64(len(rows)*s.copies)
	}
	b.rep.Memory = append(b.rep.Memory, m)
	s.memoryDone = true
	log.Printf("%-30s memory: %d rows, RSS +%d MiB, %.0f B/row/copy, loaded at %.0f rows/s", m.System, m.Rows, m.RSSDelta>>20, m.BytesPerRowCopy, m.LoadRowsPerS)
	return nil
}

// ttlRun is W5: steady inserts of rows that expire after TTL, 16 clients,
// sampling the servers' RSS each second; memory must plateau.
func (b *bench) ttlRun(ctx context.Context, s *system) error {
	if err := s.st.setup(ctx, "w5", kindTTL, b.p.TTL); err != nil {
		return err
	}
	var seq atomic.Uint64
	stop := make(chan struct{})
	var samples []int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				samples = append(samples, sumRSS(s.dataPIDs()))
			}
		}
	}()
	cpu0 := sumCPU(s.serverPIDs())
	res := loadgen.Closed(16, b.p.TTLRun, 17, func(r *rand.Rand) error {
		n := seq.Add(1)
		return s.st.put(ctx, "w5", kindTTL, row{key: "ttl" + keyName(n), ts: time.Now().UnixMilli(), val: valueOf(n, b.p.ValueSize)})
	})
	cpu := sumCPU(s.serverPIDs()) - cpu0
	close(stop)
	wg.Wait()
	pt := point{System: s.name + durSuffix(s), Workload: "W5", Load: "closed/16", Clients: 16}
	pt.fill(res, cpu)
	b.rep.Points = append(b.rep.Points, pt)
	b.rep.TTL = append(b.rep.TTL, ttlResult{System: pt.System, RSS: samples, OpsPerS: pt.OpsPerS, TTL: b.p.TTL.String()})
	log.Printf("%-30s W5  %9.0f ops/s, RSS samples (MiB): %v", pt.System, pt.OpsPerS, mib(samples))
	return nil
}

func mib(v []int64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = x >> 20
	}
	return out
}

// upgrade upgrades the tablets as the seed does while W3 runs on the
// 3-replica table, recording each partition's longest write gap and how
// long each pre-upgrade (every leader off the tablet) and post-upgrade
// (leaders back) took.
func (b *bench) upgrade(ctx context.Context, oc *openmldbCluster) error {
	var u upgradeResult
	for _, tm := range oc.cli.Tables(benchDB) {
		for _, p := range tm.Partitions {
			if tm.Table.ReplicaNum > 1 && len(p.Replicas) > 0 && p.Replicas[0].Endpoint == oc.c.Tablets[0].Endpoint {
				u.LeadersOnTablet++
			}
		}
	}
	s := &system{name: "openmldb-3r", copies: 3, st: &openmldbStore{oc: oc, replicas: 3}}
	tm, err := oc.cli.TableMeta(benchDB, "w3_3r")
	if err != nil {
		return err
	}
	gaps := newGapTracker()
	var errs atomic.Int64
	var firstErr atomic.Value
	w := b.w3(func(key string, err error) {
		if err != nil {
			if errs.Add(1) == 1 {
				firstErr.Store(err.Error())
			}
			return
		}
		gaps.ok(client.PartitionOf(tm.Table, key))
	})
	stop := make(chan struct{})
	done := make(chan *loadgen.Result)
	go func() { done <- loadgen.ClosedUntil(16, stop, 19, w.op(s)) }()
	// a baseline of the natural gap between writes of a partition at this load
	time.Sleep(3 * time.Second)
	u.BaselineGapMs = gaps.reset()
	start := time.Now()
	step := func(format string, a ...any) {
		u.Timeline = append(u.Timeline, fmt.Sprintf("%6.2f s  ", time.Since(start).Seconds())+fmt.Sprintf(format, a...))
	}
	log.Printf("rolling upgrade starts at %s", start.UTC().Format("15:04:05.000"))
	if os.Getenv("BENCH_STALL_DUMP") != "" {
		go gaps.dumpOnStall(stop, oc, b.out)
	}
	// what a tablet that stays up spends its CPU on while tablet1's
	// pre-upgrade adds temporary replicas and moves leaders
	go func() {
		url := "http://" + oc.c.Tablets[1].Endpoint + "/debug/pprof/profile?seconds=15"
		if err := saveURL(url, filepath.Join(b.out, "tablet2-cpu-during-pre-upgrade.pb.gz")); err != nil {
			log.Printf("cpu profile of tablet2: %v", err)
		}
	}()
	for _, n := range oc.c.Tablets[:b.p.UpgradeTablets] {
		pre, post, err := b.upgradeTablet(oc, n, step)
		if err != nil {
			close(stop)
			<-done
			return err
		}
		u.PreUpgradeSeconds = append(u.PreUpgradeSeconds, pre.Seconds())
		u.PostUpgradeSeconds = append(u.PostUpgradeSeconds, post.Seconds())
		log.Printf("%s: pre-upgrade %s, post-upgrade %s", n.Name, pre.Round(time.Millisecond), post.Round(time.Millisecond))
	}
	step("done")
	u.Seconds = time.Since(start).Seconds()
	close(stop)
	res := <-done
	u.Gaps = gaps.perPartition()
	u.GapIntervals = gaps.intervals(start)
	u.Errors = errs.Load()
	if e, ok := firstErr.Load().(string); ok {
		u.FirstError = e
	}
	u.Ops = int64(len(res.Lat))
	u.P99Ms = ms(res.Pct(0.99))
	b.rep.Upgrade = &u
	g := slices.Clone(u.Gaps)
	slices.Sort(g)
	log.Printf("rolling upgrade of %d tablets under W3: %.1f s, %d ops, %d errors, per-partition longest write gap p50 %.0f ms, max %.0f ms (baseline %.0f ms)",
		b.p.UpgradeTablets, u.Seconds, u.Ops, u.Errors, quantile(g, 0.5), quantile(g, 1), u.BaselineGapMs)
	return nil
}

// upgradeTablet runs the seed's steps for one tablet and returns how long
// its pre-upgrade and post-upgrade took.
func (b *bench) upgradeTablet(oc *openmldbCluster, n *cluster.Node, step func(string, ...any)) (pre, post time.Duration, err error) {
	step("%s: pre-upgrade", n.Name)
	if pre, err = oc.ops(n, "--cmd=pre-upgrade", "--endpoints="+n.Endpoint); err != nil {
		return
	}
	step("%s: stop", n.Name)
	if err = n.Stop(); err != nil {
		return
	}
	if err = n.BackupAndSwapBin(b.release); err != nil {
		return
	}
	step("%s: swapped bin; start", n.Name)
	if err = n.Start(false); err != nil {
		return
	}
	step("%s: recoverdata", n.Name)
	if _, err = oc.ops(n, "--cmd=recoverdata"); err != nil {
		return
	}
	step("%s: post-upgrade", n.Name)
	post, err = oc.ops(n, "--cmd=post-upgrade", "--endpoints="+n.Endpoint)
	return
}

// gapTracker records, per partition, the longest time between successive
// successful writes.
type gapTracker struct {
	mu    sync.Mutex
	last  map[uint32]time.Time
	max   map[uint32]time.Duration
	endAt map[uint32]time.Time // when the longest gap ended
}

func newGapTracker() *gapTracker {
	return &gapTracker{last: map[uint32]time.Time{}, max: map[uint32]time.Duration{}, endAt: map[uint32]time.Time{}}
}

func (g *gapTracker) ok(pid uint32) {
	now := time.Now()
	g.mu.Lock()
	if l, ok := g.last[pid]; ok && now.Sub(l) > g.max[pid] {
		g.max[pid] = now.Sub(l)
		g.endAt[pid] = now
	}
	g.last[pid] = now
	g.mu.Unlock()
}

// reset returns the longest gap so far over all partitions and starts over.
func (g *gapTracker) reset() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var m time.Duration
	for _, d := range g.max {
		m = max(m, d)
	}
	g.max = map[uint32]time.Duration{}
	g.endAt = map[uint32]time.Time{}
	return float64(m) / 1e6
}

func (g *gapTracker) perPartition() []float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []float64
	for _, d := range g.max {
		out = append(out, float64(d)/1e6)
	}
	return out
}

// dumpOnStall saves every tablet's goroutine dump the first time a
// partition has had no successful write for 800 ms (a diagnostic:
// BENCH_STALL_DUMP=1).
func (g *gapTracker) dumpOnStall(stop chan struct{}, oc *openmldbCluster, out string) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		g.mu.Lock()
		oldest, pid := time.Time{}, uint32(0)
		for p, t := range g.last {
			if oldest.IsZero() || t.Before(oldest) {
				oldest, pid = t, p
			}
		}
		g.mu.Unlock()
		if !oldest.IsZero() && time.Since(oldest) > 800*time.Millisecond {
			log.Printf("stall: no write to pid %d for %s; dumping goroutines", pid, time.Since(oldest).Round(time.Millisecond))
			if f, err := os.Create(filepath.Join(out, "client-stall-goroutines.txt")); err == nil {
				_ = pprof.Lookup("goroutine").WriteTo(f, 2)
				f.Close()
			}
			for _, n := range oc.c.Tablets {
				_ = saveURL("http://"+n.Endpoint+"/debug/pprof/goroutine?debug=2", filepath.Join(out, n.Name+"-stall-goroutines.txt"))
			}
			return
		}
	}
}

// intervals describes each partition's longest gap in seconds since t0.
func (g *gapTracker) intervals(t0 time.Time) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for pid, d := range g.max {
		end := g.endAt[pid].Sub(t0).Seconds()
		out = append(out, fmt.Sprintf("pid %d: %.2f–%.2f s (%.0f ms)", pid, end-d.Seconds(), end, float64(d)/1e6))
	}
	slices.Sort(out)
	return out
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*q)]
}
