package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/schema"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

const benchDB = "bench"

// openmldbCluster is 1 coord, 1 nameserver and 3 tablets laid out from a
// release directory; systems with 3 and with 1 replica share it.
type openmldbCluster struct {
	c   *cluster.Cluster
	cli *client.Client
}

func startOpenMLDB(ctx context.Context, dir, release string) (*openmldbCluster, error) {
	c, err := cluster.Layout(filepath.Join(dir, "openmldb"), release, cluster.Options{Coords: 1, Nameservers: 1, Tablets: 3,
		// expire W5's rows promptly, so its memory can plateau within the run
		ExtraFlags: map[string][]string{"tablet": {"--gc_interval=1s"}}})
	if err != nil {
		return nil, err
	}
	if err := c.StartAll(false); err != nil {
		_ = c.StopAll()
		return nil, err
	}
	cli, err := client.Connect(ctx, client.Options{ZkCluster: strings.Split(c.ZkCluster, ","), ZkRootPath: c.RootPath})
	if err != nil {
		_ = c.StopAll()
		return nil, err
	}
	oc := &openmldbCluster{c: c, cli: cli}
	// tables can be created once every tablet has registered
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.NSClient(ctx, "showtablet")
		if err == nil && strings.Count(out, "kHealthy") == 3 {
			break
		}
		if time.Now().After(deadline) {
			oc.stop()
			return nil, fmt.Errorf("tablets not healthy after 30 s: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cli.CreateDatabase(ctx, benchDB, true); err != nil {
		oc.stop()
		return nil, err
	}
	return oc, nil
}

func (oc *openmldbCluster) stop() {
	_ = oc.cli.Close()
	_ = oc.c.StopAll()
}

func (oc *openmldbCluster) pids(nodes []*cluster.Node) []int {
	var out []int
	for _, n := range nodes {
		if p, err := n.Pid(); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (oc *openmldbCluster) serverPIDs() []int { return oc.pids(oc.c.All()) }
func (oc *openmldbCluster) tabletPIDs() []int { return oc.pids(oc.c.Tablets) }

// openmldbStore writes tables <ns>_<replicas>r in database bench.
type openmldbStore struct {
	oc       *openmldbCluster
	replicas int
}

func (s *openmldbStore) table(ns string) string { return fmt.Sprintf("%s_%dr", ns, s.replicas) }

func (s *openmldbStore) setup(ctx context.Context, ns string, k kind, ttl time.Duration) error {
	cols := []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp}, {Name: "v", Type: schema.TypeString}}
	ix := schema.Index{Keys: []string{"k"}, TS: "ts"}
	switch k {
	case kindKV:
		// a key-value comparison: keep the newest row of a key only
		ix.TTLType, ix.LatTTL = schema.TTLLatest, 1
	case kindTTL:
		ix.TTLType, ix.AbsTTL = schema.TTLAbsolute, ttl
	case kindFeature:
		cols = []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp},
			{Name: "v", Type: schema.TypeDouble}, {Name: "c", Type: schema.TypeString}}
	}
	t := schema.Table{DB: benchDB, Name: s.table(ns), PartitionNum: 8, ReplicaNum: s.replicas, Columns: cols, Indexes: []schema.Index{ix}}
	if err := s.oc.cli.CreateTable(ctx, t, client.CreateTableOptions{IfNotExists: true, ReplicaNumSet: true}); err != nil {
		return err
	}
	if err := s.oc.cli.WaitTableReady(ctx, benchDB, t.Name); err != nil {
		return err
	}
	if k == kindFeature {
		out, err := s.oc.c.SQLClient(ctx, fmt.Sprintf("DEPLOY IF NOT EXISTS %s_dep %s;", t.Name, featureSQL(t.Name)), "--database="+benchDB)
		if err != nil {
			return fmt.Errorf("deploying W6: %w\n%s", err, out)
		}
	}
	return nil
}

// featureSQL is W6: 3 windows (10 s, 1 h, 1 d) and 5 aggregates.
func featureSQL(table string) string {
	return `SELECT k, ts, sum(v) OVER w10s AS sum_10s, count(v) OVER w1h AS cnt_1h, avg(v) OVER w1h AS avg_1h,
  max(v) OVER w1d AS max_1d, distinct_count(c) OVER w1d AS cats_1d FROM ` + table + ` WINDOW
  w10s AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 10s PRECEDING AND CURRENT ROW),
  w1h AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW),
  w1d AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW)`
}

func (s *openmldbStore) values(k kind, r row) []any {
	if k == kindFeature {
		return []any{r.key, r.ts, r.v, r.cat}
	}
	return []any{r.key, r.ts, string(r.val)}
}

func (s *openmldbStore) put(ctx context.Context, ns string, k kind, r row) error {
	return s.oc.cli.Put(ctx, benchDB, s.table(ns), s.values(k, r))
}

func (s *openmldbStore) load(ctx context.Context, ns string, k kind, rows []row) error {
	const batch = 500
	for i := 0; i < len(rows); i += batch {
		var vals [][]any
		for _, r := range rows[i:min(i+batch, len(rows))] {
			vals = append(vals, s.values(k, r))
		}
		if err := s.oc.cli.PutBatch(ctx, benchDB, s.table(ns), vals); err != nil {
			return err
		}
	}
	return nil
}

func (s *openmldbStore) latest(ctx context.Context, ns string, _ kind, key string) error {
	_, err := s.oc.cli.Get(ctx, benchDB, s.table(ns), key, client.ScanOptions{})
	return err
}

func (s *openmldbStore) lastN(ctx context.Context, ns, key string, n int) (int, error) {
	rows, err := s.oc.cli.Scan(ctx, benchDB, s.table(ns), key, client.ScanOptions{Limit: n})
	return len(rows), err
}

func (s *openmldbStore) feature(ctx context.Context, ns string, r row) (features, error) {
	out, err := s.oc.cli.CallDeployment(ctx, benchDB, s.table(ns)+"_dep", [][]any{s.values(kindFeature, r)})
	if err != nil {
		return features{}, err
	}
	if len(out) != 1 || len(out[0]) != 7 {
		return features{}, fmt.Errorf("deployment returned %d rows, want 1 of 7 columns", len(out))
	}
	o := out[0]
	return features{sum10s: asFloat(o[2]), cnt1h: int64(asFloat(o[3])), avg1h: asFloat(o[4]), max1d: asFloat(o[5]), cats1d: int64(asFloat(o[6]))}, nil
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case int:
		return float64(x)
	case int16:
		return float64(x)
	}
	return 0
}

func (s *openmldbStore) close() {}

// accountedBytes is the storage's own count of the bytes the table's rows
// and indexes take, over all replicas (as showtablestatus reports it).
func (s *openmldbStore) accountedBytes(ns string) int64 {
	var n int64
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, ts := range s.oc.cli.TableStatuses(benchDB) {
			if ts.Name == s.table(ns) {
				n = ts.MemoryBytes
			}
		}
		if n > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return n
}

// recoverTablet kills tablet1 with SIGKILL, starts it again and returns how
// long until every partition of the 1-replica table ns that lives on it
// serves reads again.
func (oc *openmldbCluster) recoverTablet(ctx context.Context, ns string, keys []string) (time.Duration, int64, error) {
	n := oc.c.Tablets[0]
	pid, err := n.Pid()
	if err != nil {
		return 0, 0, err
	}
	rss, _ := rssBytes(pid)
	tm, err := oc.cli.TableMeta(benchDB, ns+"_1r")
	if err != nil {
		return 0, 0, err
	}
	// one stored key per partition whose replica is on the killed tablet
	probe := map[uint32]string{}
	for _, p := range tm.Partitions {
		if len(p.Replicas) > 0 && p.Replicas[0].Endpoint == n.Endpoint {
			probe[p.PID] = ""
		}
	}
	for _, k := range keys {
		pid := client.PartitionOf(tm.Table, k)
		if v, ok := probe[pid]; ok && v == "" {
			probe[pid] = k
		}
	}
	if err := n.Kill(); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := n.Start(false); err != nil {
		return 0, 0, err
	}
	deadline := start.Add(5 * time.Minute)
	for pid, k := range probe {
		for {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := oc.cli.Get(cctx, benchDB, ns+"_1r", k, client.ScanOptions{})
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return 0, 0, fmt.Errorf("partition %d not readable 5 min after restart: %w", pid, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return time.Since(start), rss, nil
}

// ops runs tools/openmldb_ops.py in node's directory and times it.
func (oc *openmldbCluster) ops(node *cluster.Node, args ...string) (time.Duration, error) {
	start := time.Now()
	out, err := node.Ops(args...)
	if err != nil {
		return 0, fmt.Errorf("openmldb_ops.py %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return time.Since(start), nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
