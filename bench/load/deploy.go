package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/openmldb-go/openmldb/bench/loadgen"
	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/sql"
	"github.com/openmldb-go/openmldb/schema"
)

// featureSQL is the benchmark deployment: 3 windows, 5 aggregates.
const featureSQL = `SELECT k, ts,
  sum(v) OVER w10s AS sum_10s,
  count(v) OVER w1h AS cnt_1h,
  avg(v) OVER w1h AS avg_1h,
  max(v) OVER w1d AS max_1d,
  distinct_count(c) OVER w1d AS cats_1d
FROM feat WINDOW
  w10s AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 10s PRECEDING AND CURRENT ROW),
  w1h AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW),
  w1d AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW)`

// runDeploy fills bench.feat (keys × rows, one row a minute up to now),
// deploys featureSQL as bench.feat_deploy and sends request rows (a
// random key, ts = now) closed loop.
func runDeploy(ctx context.Context, cli *client.Client, zk, root string, clients int, duration time.Duration, via, restEP string, keys, rowsPerKey, partitions, replicas int) {
	t := schema.Table{DB: "bench", Name: "feat", PartitionNum: partitions, ReplicaNum: replicas,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp},
			{Name: "v", Type: schema.TypeDouble}, {Name: "c", Type: schema.TypeString}},
		Indexes: []schema.Index{{Keys: []string{"k"}, TS: "ts"}}}
	if err := cli.CreateTable(ctx, t, client.CreateTableOptions{IfNotExists: true, ReplicaNumSet: true}); err != nil {
		log.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if n, _ := cli.Count(ctx, "bench", "feat", "fk0", ""); n < rowsPerKey {
		start := time.Now()
		r := rand.New(rand.NewPCG(3, 4))
		for k := 0; k < keys; k++ {
			var batch [][]any
			for j := 0; j < rowsPerKey; j++ {
				batch = append(batch, []any{fmt.Sprintf("fk%d", k), now - int64(rowsPerKey-j)*60_000, r.Float64() * 100, fmt.Sprintf("cat%d", r.IntN(20))})
			}
			if err := cli.PutBatch(ctx, "bench", "feat", batch); err != nil {
				log.Fatal(err)
			}
		}
		log.Printf("loaded %d keys × %d rows in %s", keys, rowsPerKey, time.Since(start).Round(time.Millisecond))
	}
	eng := sql.NewEngine(cli, root)
	sess := eng.NewSession(ctx, "bench")
	if _, err := eng.ExecScript(ctx, sess, "DEPLOY IF NOT EXISTS feat_deploy "+featureSQL, nil); err != nil {
		log.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	res := loadgen.Closed(clients, duration, 9, func(r *rand.Rand) error {
		key := fmt.Sprintf("fk%d", r.IntN(keys))
		ts := time.Now().UnixMilli()
		v := r.Float64() * 100
		if via == "rest" {
			return restCall(hc, "POST", "http://"+restEP+"/dbs/bench/deployments/feat_deploy",
				fmt.Sprintf(`{"input":[[%q, %d, %f, "cat1"]]}`, key, ts, v))
		}
		_, err := cli.CallDeployment(ctx, "bench", "feat_deploy", [][]any{{key, ts, v, "cat1"}})
		return err
	})
	if res.Errs > 0 {
		log.Printf("first error: %v", res.FirstErr)
	}
	fmt.Printf("via=%s mode=deploy clients=%d keys=%d rows/key=%d requests=%d errors=%d elapsed=%s req/s=%.0f p50=%s p99=%s p99.9=%s\n",
		via, clients, keys, rowsPerKey, len(res.Lat), res.Errs, res.Elapsed.Round(time.Millisecond), res.PerSecond(), res.Pct(0.5), res.Pct(0.99), res.Pct(0.999))
}
