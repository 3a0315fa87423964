package sql

import (
	"context"
	"fmt"
	"testing"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/schema"
)

// sortedSource serves one key's rows pre-sorted newest first, so the
// benchmark measures the engine, not the in-memory scan of the test source.
type sortedSource struct {
	t    schema.Table
	rows map[string][]client.Row // key -> rows newest first
}

func (s *sortedSource) Table(db, name string) (schema.Table, error) { return s.t, nil }

func (s *sortedSource) ScanIndex(_ context.Context, _, _, _, key string, from, to int64, limit int) ([]client.Row, error) {
	var out []client.Row
	for _, r := range s.rows[key] {
		ts := r[1].(int64)
		if from != 0 && ts > from {
			continue
		}
		if to != 0 && ts <= to {
			break
		}
		out = append(out, r)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// BenchmarkRequest3Windows5Aggs is the deployment of the benchmark
// (windows of 10 s, 1 h and 1 d over keys holding 1,000 rows, one a
// minute), computed from rows already in memory.
func BenchmarkRequest3Windows5Aggs(b *testing.B) {
	t := schema.Table{DB: "d", Name: "feat", PartitionNum: 1, ReplicaNum: 1,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp},
			{Name: "v", Type: schema.TypeDouble}, {Name: "c", Type: schema.TypeString}},
		Indexes: []schema.Index{{Keys: []string{"k"}, TS: "ts"}}}
	_ = t.Validate()
	now := int64(100_000_000)
	src := &sortedSource{t: t, rows: map[string][]client.Row{}}
	for j := 1; j <= 1000; j++ {
		src.rows["k"] = append(src.rows["k"], client.Row{"k", now - int64(j)*60_000, float64(j), fmt.Sprintf("cat%d", j%20)})
	}
	st, err := Parse(`SELECT k, ts, sum(v) OVER w10s, count(v) OVER w1h, avg(v) OVER w1h, max(v) OVER w1d, distinct_count(c) OVER w1d FROM feat WINDOW
  w10s AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 10s PRECEDING AND CURRENT ROW),
  w1h AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW),
  w1d AS (PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW)`)
	if err != nil {
		b.Fatal(err)
	}
	q, err := CompileFeature(src, "d", st.(*Select))
	if err != nil {
		b.Fatal(err)
	}
	req := client.Row{"k", now, 1.5, "cat1"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := q.Request(context.Background(), src, req, nil)
		if err != nil || out[5] == nil {
			b.Fatal(err, out)
		}
	}
}
