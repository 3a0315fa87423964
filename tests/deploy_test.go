package tests

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/sql"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

const consistencyQuery = `SELECT id, k, ts,
  count(*) OVER w1, sum(v) OVER w1, avg(v) OVER w2, min(v) OVER w2, max(c) OVER w3, distinct_count(c) OVER w3,
  count_where(v, c = 'x') OVER w3, lag(v, 1) OVER w1, first_value(c) OVER w2, ew_avg(v, 0.3) OVER w1,
  top_n_key_count_cate_where(v, v > 2, c, 2) OVER w3, sum_cate(v, c) OVER w2
FROM ev WINDOW
  w1 AS (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW),
  w2 AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 5s PRECEDING AND CURRENT ROW EXCLUDE CURRENT_TIME),
  w3 AS (PARTITION BY c ORDER BY ts ROWS_RANGE BETWEEN 20s PRECEDING AND 1s PRECEDING MAXSIZE 10)`

// OpenMLDB's consistency promise on a real cluster: the answer a
// deployment gives for a request row (computed by the tablets, the row not
// stored) equals the offline answer for that row once it is stored.
func TestDeploymentRequestMatchesOffline(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3})
	sdk := connectSDK(t, c)
	eng := sql.NewEngine(sdk, c.RootPath)
	ctx := cluster.Ctx(t)
	sess := eng.NewSession(ctx, "")
	exec := func(q string) *sql.Result {
		t.Helper()
		st, err := sql.Parse(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		r, err := eng.Exec(ctx, sess, st, nil)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return r
	}
	exec("CREATE DATABASE cons")
	exec("USE cons")
	exec("CREATE TABLE ev (id bigint, k string, ts timestamp, v int, c string, INDEX(KEY=k, TS=ts), INDEX(KEY=c, TS=ts)) OPTIONS(PARTITIONNUM=4, REPLICANUM=3)")
	exec("DEPLOY feats " + consistencyQuery)
	r := rand.New(rand.NewPCG(5, 6))
	usedTS := map[string]bool{}
	newRow := func(id int64) []any {
		for {
			k, c := fmt.Sprintf("k%d", r.IntN(4)), []string{"x", "y", "z"}[r.IntN(3)]
			ts := int64(1_000_000 + 500*r.IntN(200))
			var v any = int64(r.IntN(10))
			if r.IntN(7) == 0 {
				v = nil
			}
			// Unique timestamps per partition key, so tie order never matters.
			if usedTS[k+fmt.Sprint(ts)] || usedTS[c+fmt.Sprint(ts)] {
				continue
			}
			usedTS[k+fmt.Sprint(ts)], usedTS[c+fmt.Sprint(ts)] = true, true
			return []any{id, k, ts, v, c}
		}
	}
	var seed [][]any
	for i := int64(1); i <= 120; i++ {
		seed = append(seed, newRow(i))
	}
	if err := sdk.PutBatch(ctx, "cons", "ev", seed); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i := int64(1000); i < 1025; i++ {
		req := newRow(i)
		got, err := sdk.CallDeployment(ctx, "cons", "feats", [][]any{req})
		if err != nil {
			t.Fatal(err)
		}
		if err := sdk.Put(ctx, "cons", "ev", req); err != nil {
			t.Fatal(err)
		}
		exec("SET @@execute_mode='offline'")
		off := exec(consistencyQuery + "")
		exec("SET @@execute_mode='online'")
		var want []any
		for _, row := range off.Rows {
			if row[0] == i {
				want = row
			}
		}
		if want == nil {
			t.Fatalf("offline output lacks row %d", i)
		}
		// Compare as JSON, the form both answers take on the wire.
		g, _ := json.Marshal(jsonRow(got[0]))
		w, _ := json.Marshal(jsonRow(want))
		if string(g) != string(w) {
			t.Fatalf("request row %v:\nrequest mode %s\noffline      %s", req, g, w)
		}
		checked++
	}
	t.Logf("%d request rows: deployment answers equal offline answers", checked)
	// A deployment answers several rows at once, in order, across partitions.
	rows := [][]any{newRow(5000), newRow(5001), newRow(5002), newRow(5003)}
	got, err := sdk.CallDeployment(ctx, "cons", "feats", rows)
	if err != nil || len(got) != 4 {
		t.Fatalf("batch of requests: %v %v", got, err)
	}
	for i, g := range got {
		if !reflect.DeepEqual(g[0], rows[i][0]) {
			t.Fatalf("answer %d is for id %v, want %v", i, g[0], rows[i][0])
		}
	}
	if _, err := sdk.CallDeployment(ctx, "cons", "nope", rows); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("unknown deployment: %v", err)
	}
	if _, err := sdk.CallDeployment(ctx, "cons", "feats", [][]any{{int64(1), "k"}}); err == nil || !strings.Contains(err.Error(), "has 5 columns, got 2 values") {
		t.Fatalf("short request row: %v", err)
	}
}

func jsonRow(r []any) []any {
	out := make([]any, len(r))
	for i, v := range r {
		out[i] = sql.JSONValue(v)
	}
	return out
}

var _ = client.ErrNotFound
