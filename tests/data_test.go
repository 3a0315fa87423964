package tests

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/schema"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

func connectSDK(t testing.TB, c *cluster.Cluster) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := client.Options{ZkCluster: strings.Split(c.ZkCluster, ","), ZkRootPath: c.RootPath}
	if os.Getenv("GAP_DEBUG") != "" {
		// Diagnosis: every retried attempt, to read beside the GAP lines.
		opts.OnRetry = func(ep string, err error) {
			fmt.Printf("RETRY %s %s: %v\n", time.Now().Format("15:04:05.000"), ep, err)
		}
	}
	cli, err := client.Connect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func eventTable(db, name string, parts, replicas int) schema.Table {
	return schema.Table{DB: db, Name: name, PartitionNum: parts, ReplicaNum: replicas,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp}, {Name: "v", Type: schema.TypeString}},
		Indexes: []schema.Index{{Keys: []string{"k"}, TS: "ts"}}}
}

// writerSet writes unique rows continuously and records what was acknowledged.
type writerSet struct {
	mu      sync.Mutex
	acked   map[string]map[int64]bool  // table -> ts
	keys    map[string]map[string]bool // table -> keys written (nil: k<w>-<0..49>)
	errs    atomic.Int64
	lastErr atomic.Value
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startWriters(t *testing.T, cli *client.Client, db string, tables []string, perWriter, writers int) *writerSet {
	ws := &writerSet{acked: map[string]map[int64]bool{}, stop: make(chan struct{})}
	for _, tb := range tables {
		ws.acked[tb] = map[int64]bool{}
	}
	for w := 0; w < writers; w++ {
		ws.wg.Add(1)
		go func() {
			defer ws.wg.Done()
			for n := 0; perWriter == 0 || n < perWriter; n++ {
				select {
				case <-ws.stop:
					return
				default:
				}
				tb := tables[n%len(tables)]
				ts := int64(w)*1_000_000_000 + int64(n) + 1
				key := fmt.Sprintf("k%d-%d", w, n%50)
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				err := cli.Put(ctx, db, tb, []any{key, ts, fmt.Sprintf("v%d", n)})
				cancel()
				if err != nil {
					ws.errs.Add(1)
					ws.lastErr.Store(err.Error())
					continue
				}
				ws.mu.Lock()
				ws.acked[tb][ts] = true
				ws.mu.Unlock()
			}
		}()
	}
	return ws
}

func (ws *writerSet) wait()        { ws.wg.Wait() }
func (ws *writerSet) stopAndWait() { close(ws.stop); ws.wg.Wait() }
func (ws *writerSet) count() (n int) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, m := range ws.acked {
		n += len(m)
	}
	return n
}

// createTable creates database db (if it is new) and an event table in it
// with the given partition and replica counts.
func createTable(t *testing.T, cli *client.Client, db, table string, partitions, replicas int) {
	t.Helper()
	ctx := cluster.Ctx(t)
	if err := cli.CreateDatabase(ctx, db, true); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable(db, table, partitions, replicas), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
}

// stopAndVerifyWriters stops the writers and checks that none of them saw
// an error, that every acknowledged row is stored exactly once, and that
// every replica of each partition is identical.
func stopAndVerifyWriters(t *testing.T, c *cluster.Cluster, cli *client.Client, db string, ws *writerSet, writers int) {
	t.Helper()
	ws.stopAndWait()
	if ws.errs.Load() > 0 {
		t.Errorf("writers saw %d errors (last: %v)", ws.errs.Load(), ws.lastErr.Load())
	}
	verifyAcked(t, cli, db, ws, writers)
	verifyReplicasIdentical(t, c, cli, db)
}

// verifyAcked checks every acknowledged row is stored exactly once.
func verifyAcked(t *testing.T, cli *client.Client, db string, ws *writerSet, writers int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for tb, acked := range ws.acked {
		seen := map[int64]int{}
		var keys []string
		if ws.keys != nil {
			for k := range ws.keys[tb] {
				keys = append(keys, k)
			}
		} else {
			for w := 0; w < writers; w++ {
				for k := 0; k < 50; k++ {
					keys = append(keys, fmt.Sprintf("k%d-%d", w, k))
				}
			}
		}
		for _, key := range keys {
			rows, err := cli.Scan(ctx, db, tb, key, client.ScanOptions{Linearizable: true})
			if err != nil {
				t.Fatalf("scan %s: %v", tb, err)
			}
			for _, r := range rows {
				seen[r[1].(int64)]++
			}
		}
		missing, dups := 0, 0
		for ts := range acked {
			if seen[ts] == 0 {
				missing++
			}
		}
		for _, n := range seen {
			if n > 1 {
				dups++
			}
		}
		t.Logf("table %s: %d acknowledged, %d stored, %d missing, %d duplicated", tb, len(acked), len(seen), missing, dups)
		if missing > 0 || dups > 0 {
			t.Errorf("table %s: %d acknowledged rows missing, %d duplicated", tb, missing, dups)
		}
	}
}

// verifyReplicasIdentical compares every replica's checksum per partition.
func verifyReplicasIdentical(t *testing.T, c *cluster.Cluster, cli *client.Client, db string) {
	t.Helper()
	cluster.Eventually(t, 30*time.Second, "replicas identical", func() error {
		for _, tm := range cli.Tables(db) {
			for _, p := range tm.Partitions {
				sums := map[uint64][]string{}
				var offsets []string
				for _, r := range p.Replicas {
					resp, err := cli.Tablet(r.Endpoint).GetTableStatus(context.Background(),
						connect.NewRequest(&openmldbv1.GetTableStatusRequest{Tid: tm.TID, Pid: p.PID, WithChecksum: true}))
					if err != nil || len(resp.Msg.Partitions) != 1 {
						return fmt.Errorf("status of %s tid %d pid %d: %v", r.Endpoint, tm.TID, p.PID, err)
					}
					ps := resp.Msg.Partitions[0]
					sums[ps.Checksum] = append(sums[ps.Checksum], r.Endpoint)
					offsets = append(offsets, fmt.Sprint(ps.Offset))
				}
				if len(sums) != 1 {
					return fmt.Errorf("table %s pid %d: replicas differ: %v (offsets %v)", tm.Table.Name, p.PID, sums, offsets)
				}
			}
		}
		return nil
	})
}

func TestReplicatedTablesSurviveTabletCrash(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3})
	cli := connectSDK(t, c)
	ctx := cluster.Ctx(t)
	if err := cli.CreateDatabase(ctx, "db1", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db1", "t3", 8, 3), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db1", "t1", 4, 1), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}

	// Writers on the 3-replica table, 100k rows in batches of 25; kill -9 a
	// tablet holding leaders mid-way.
	const writers = 8
	ws := startBatchWriters(t, cli, "db1", "t3", writers, 25, 100_000)
	cluster.Eventually(t, 120*time.Second, "some rows written", func() error {
		if ws.count() < 20_000 {
			return fmt.Errorf("%d rows", ws.count())
		}
		return nil
	})
	victim := c.Tablets[0]
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	before := ws.count()
	cluster.Eventually(t, 60*time.Second, "writes continue after the crash", func() error {
		if ws.count() < before+20_000 {
			return fmt.Errorf("%d rows since the kill", ws.count()-before)
		}
		return nil
	})
	if err := victim.Start(false); err != nil {
		t.Fatal(err)
	}
	ws.wait()
	if ws.count() < 90_000 {
		t.Errorf("only %d of 100000 rows acknowledged", ws.count())
	}
	t.Logf("acknowledged %d rows, %d failed calls, %d retries (last error: %v)", ws.count(), ws.errs.Load(), cli.Retries.Load(), ws.lastErr.Load())
	verifyAcked(t, cli, "db1", ws, writers)
	verifyReplicasIdentical(t, c, cli, "db1")

	// The single-replica table works too, and survives a full restart.
	ws1 := startWriters(t, cli, "db1", []string{"t1"}, 200, 4)
	ws1.wait()
	if ws1.errs.Load() > 0 {
		t.Fatalf("writes to t1 failed: %v", ws1.lastErr.Load())
	}
	if err := c.StopAll(); err != nil {
		t.Fatal(err)
	}
	if err := c.StartAll(false); err != nil {
		t.Fatal(err)
	}
	cli2 := connectSDK(t, c)
	for _, tb := range []string{"t1", "t3"} {
		if err := cli2.WaitTableReady(cluster.Ctx(t), "db1", tb); err != nil {
			t.Fatal(err)
		}
	}
	verifyAcked(t, cli2, "db1", ws, writers)
	verifyAcked(t, cli2, "db1", ws1, 4)
}

func TestDataBadInput(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 2})
	cli := connectSDK(t, c)
	ctx := cluster.Ctx(t)
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateDatabase(ctx, "db", false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate database: %v", err)
	}
	if err := cli.CreateTable(ctx, eventTable("db", "t", 2, 2), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	if err := cli.Put(ctx, "db", "t", []any{"a", int64(1), "x"}); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		err  error
	}{
		{"too many replicas", cli.CreateTable(ctx, eventTable("db", "t2", 2, 3), client.CreateTableOptions{ReplicaNumSet: true})},
		{"unknown db", cli.CreateTable(ctx, eventTable("nodb", "t2", 2, 1), client.CreateTableOptions{})},
		{"duplicate table", cli.CreateTable(ctx, eventTable("db", "t", 2, 1), client.CreateTableOptions{})},
		{"bad ttl type", cli.CreateTable(ctx, func() schema.Table {
			tb := eventTable("db", "t3", 1, 1)
			tb.Indexes[0].TTLType = "forever"
			return tb
		}(), client.CreateTableOptions{})},
		{"wrong column count", cli.Put(ctx, "db", "t", []any{"a", int64(2)})},
		{"wrong type", cli.Put(ctx, "db", "t", []any{"a", "notatime", "x"})},
		{"unknown table", cli.Put(ctx, "db", "nosuch", []any{"a", int64(2), "x"})},
		{"oversized row", cli.Put(ctx, "db", "t", []any{"a", int64(3), strings.Repeat("x", schema.MaxRowBytes)})},
	}
	for _, b := range bad {
		if b.err == nil {
			t.Errorf("%s: accepted", b.name)
		} else {
			t.Logf("%s: %v", b.name, b.err)
		}
	}
	row, err := cli.Get(ctx, "db", "t", "a", client.ScanOptions{})
	if err != nil || row[2] != "x" {
		t.Fatalf("stored row changed after bad input: %v %v", row, err)
	}
	if n, _ := cli.Count(ctx, "db", "t", "a", ""); n != 1 {
		t.Fatalf("count %d", n)
	}
	// Tables are sorted by ts, and drop removes them.
	if err := cli.DropTable(ctx, "db", "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Get(ctx, "db", "t", "a", client.ScanOptions{}); err == nil {
		t.Fatal("dropped table still readable")
	}
	_ = sort.Strings
}

// startBatchWriters writes total rows to one table with PutBatch calls of
// batch rows, from several goroutines, recording what was acknowledged.
func startBatchWriters(t *testing.T, cli *client.Client, db, table string, writers, batch, total int) *writerSet {
	ws := &writerSet{acked: map[string]map[int64]bool{table: {}}, stop: make(chan struct{})}
	per := total / writers
	for w := 0; w < writers; w++ {
		ws.wg.Add(1)
		go func() {
			defer ws.wg.Done()
			for n := 0; n < per; n += batch {
				rows := make([][]any, 0, batch)
				var tss []int64
				for i := n; i < n+batch && i < per; i++ {
					ts := int64(w)*1_000_000_000 + int64(i) + 1
					rows = append(rows, []any{fmt.Sprintf("k%d-%d", w, i%50), ts, fmt.Sprintf("v%d", i)})
					tss = append(tss, ts)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := cli.PutBatch(ctx, db, table, rows)
				cancel()
				if err != nil {
					ws.errs.Add(1)
					ws.lastErr.Store(err.Error())
					continue
				}
				ws.mu.Lock()
				for _, ts := range tss {
					ws.acked[table][ts] = true
				}
				ws.mu.Unlock()
			}
		}()
	}
	return ws
}
