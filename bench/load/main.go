// Command load drives an openmldb-go cluster through the Go SDK with N
// closed-loop clients and reports throughput and latency percentiles.
//
//	go run ./bench/load --zk_cluster=127.0.0.1:2379 --clients=50 --mode=put --duration=20s
//
// Each client writes rows (key, ts, 100-byte value) to bench.load (created
// if missing: --partitions × --replicas) or reads the latest row of a
// random key (--mode=get, after a put run filled the table). --via=rest
// sends the same operations through an apiserver (PUT /dbs/bench/tables/t,
// POST /dbs/bench with a parameterized point select) to measure the REST
// overhead beside the SDK path.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openmldb-go/openmldb/bench/loadgen"
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
	via := flag.String("via", "sdk", "sdk (Go SDK) or rest (the apiserver at --rest_endpoint)")
	deployKeys := flag.Int("deploy_keys", 100, "--mode=deploy: keys in bench.feat")
	rowsPerKey := flag.Int("rows_per_key", 1000, "--mode=deploy: stored rows per key (one a minute, newest now)")
	restEP := flag.String("rest_endpoint", "127.0.0.1:9080", "apiserver for --via=rest")
	flag.Parse()
	if *via != "sdk" && *via != "rest" {
		log.Fatalf("--via must be sdk or rest, not %q", *via)
	}
	if *mode != "put" && *mode != "get" && *mode != "deploy" {
		log.Fatalf("--mode must be put, get or deploy, not %q", *mode)
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
	if *mode == "deploy" {
		runDeploy(ctx, cli, *zk, *root, *clients, *duration, *via, *restEP, *deployKeys, *rowsPerKey, *partitions, *replicas)
		return
	}
	err = cli.CreateTable(ctx, schema.Table{DB: "bench", Name: *table, PartitionNum: *partitions, ReplicaNum: *replicas,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp}, {Name: "v", Type: schema.TypeString}},
		Indexes: []schema.Index{{Keys: []string{"k"}, TS: "ts"}}}, client.CreateTableOptions{IfNotExists: true, ReplicaNumSet: true})
	if err != nil {
		log.Fatal(err)
	}
	value := strings.Repeat("v", *valueSize)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *clients}}
	var seq atomic.Int64
	res := loadgen.Closed(*clients, *duration, 7, func(r *rand.Rand) error {
		key := fmt.Sprintf("key%08d", r.IntN(*keys))
		switch {
		case *via == "rest" && *mode == "put":
			return restCall(hc, "PUT", "http://"+*restEP+"/dbs/bench/tables/"+*table,
				fmt.Sprintf(`{"value":[[%q, %d, %q]]}`, key, seq.Add(1), value))
		case *via == "rest":
			return restCall(hc, "POST", "http://"+*restEP+"/dbs/bench",
				fmt.Sprintf(`{"mode":"online","sql":"SELECT * FROM %s WHERE k = ? LIMIT 1","input":{"schema":["String"],"data":[%q]}}`, *table, key))
		case *mode == "put":
			return cli.Put(ctx, "bench", *table, []any{key, seq.Add(1), value})
		}
		_, err := cli.Get(ctx, "bench", *table, key, client.ScanOptions{})
		if err != nil && strings.Contains(err.Error(), "not found") {
			err = nil
		}
		return err
	})
	if res.Errs > 0 {
		log.Printf("first error: %v", res.FirstErr)
	}
	fmt.Fprintf(os.Stdout, "via=%s mode=%s clients=%d table=%s (%dx%d) ops=%d errors=%d elapsed=%s ops/s=%.0f p50=%s p99=%s p99.9=%s retries=%d\n",
		*via, *mode, *clients, *table, *partitions, *replicas, len(res.Lat), res.Errs, res.Elapsed.Round(time.Millisecond),
		res.PerSecond(), res.Pct(0.5), res.Pct(0.99), res.Pct(0.999), cli.Retries.Load())
}

// restCall sends one REST request and fails unless the reply has code 0.
func restCall(hc *http.Client, method, url, body string) error {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if !bytes.Contains(data, []byte(`"code":0`)) {
		return fmt.Errorf("%s", data)
	}
	return nil
}
