// Command load drives an openmldb-go cluster through the Go SDK with N
// closed-loop clients and reports throughput and latency percentiles.
//
//	go run ./bench/load --zk_cluster=127.0.0.1:2379 --clients=50 --mode=put --duration=20s
//
// Each client writes rows (key, ts, 100-byte value) to bench.load (created
// if missing: --partitions × --replicas) or reads the latest row of a
// random key (--mode=get, after a put run filled the table).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/schema"
)

func main() {
	zk := flag.String("zk_cluster", "127.0.0.1:2379", "etcd endpoints")
	root := flag.String("zk_root_path", "/openmldb", "cluster root path")
	clients := flag.Int("clients", 50, "concurrent closed-loop clients")
	mode := flag.String("mode", "put", "put or get")
	duration := flag.Duration("duration", 20*time.Second, "how long to run")
	keys := flag.Int("keys", 100000, "distinct keys")
	valueSize := flag.Int("value_size", 100, "bytes per value")
	partitions := flag.Int("partitions", 8, "partitions of the bench table")
	replicas := flag.Int("replicas", 3, "replicas of the bench table")
	table := flag.String("table", "", "table name (default load_<replicas>r)")
	flag.Parse()
	if *mode != "put" && *mode != "get" {
		log.Fatalf("--mode must be put or get, not %q", *mode)
	}
	if *table == "" {
		*table = fmt.Sprintf("load_%dr", *replicas)
	}
	ctx := context.Background()
	cli, err := client.Connect(ctx, client.Options{ZkCluster: strings.Split(*zk, ","), ZkRootPath: *root})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	if err := cli.CreateDatabase(ctx, "bench", true); err != nil {
		log.Fatal(err)
	}
	err = cli.CreateTable(ctx, schema.Table{DB: "bench", Name: *table, PartitionNum: *partitions, ReplicaNum: *replicas,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp}, {Name: "v", Type: schema.TypeString}},
		Indexes: []schema.Index{{Keys: []string{"k"}, TS: "ts"}}}, client.CreateTableOptions{IfNotExists: true, ReplicaNumSet: true})
	if err != nil {
		log.Fatal(err)
	}
	value := strings.Repeat("v", *valueSize)
	var seq atomic.Int64
	var errs atomic.Int64
	lat := make([][]time.Duration, *clients)
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for time.Now().Before(deadline) {
				key := fmt.Sprintf("key%08d", r.IntN(*keys))
				t0 := time.Now()
				var err error
				if *mode == "put" {
					err = cli.Put(ctx, "bench", *table, []any{key, seq.Add(1), value})
				} else {
					_, err = cli.Get(ctx, "bench", *table, key, client.ScanOptions{})
					if err != nil && strings.Contains(err.Error(), "not found") {
						err = nil
					}
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[int(float64(len(all)-1)*p)]
	}
	fmt.Fprintf(os.Stdout, "mode=%s clients=%d table=%s (%dx%d) ops=%d errors=%d elapsed=%s ops/s=%.0f p50=%s p99=%s p99.9=%s retries=%d\n",
		*mode, *clients, *table, *partitions, *replicas, len(all), errs.Load(), elapsed.Round(time.Millisecond),
		float64(len(all))/elapsed.Seconds(), pct(0.5), pct(0.99), pct(0.999), cli.Retries.Load())
}
