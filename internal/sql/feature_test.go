package sql

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/schema"
)

// memSource is an in-memory RowSource: rows per table, scanned like a tablet.
type memSource struct {
	tables map[string]schema.Table
	rows   map[string][]client.Row
}

func (m *memSource) Table(db, name string) (schema.Table, error) {
	t, ok := m.tables[name]
	if !ok {
		return t, fmt.Errorf("no table %s", name)
	}
	return t, nil
}

func (m *memSource) ScanIndex(_ context.Context, _, table, index, key string, from, to int64, limit int) ([]client.Row, error) {
	t := m.tables[table]
	ix, _ := findIndexByName(t, index)
	tsCol := t.ColumnIndex(ix.TS)
	type hit struct {
		row client.Row
		ts  int64
		pos int
	}
	var hits []hit
	for pos, r := range m.rows[table] {
		k, err := client.KeyOf(t, index, r)
		if err != nil || k != key {
			continue
		}
		ts := int64(pos)
		if tsCol >= 0 {
			ts = r[tsCol].(int64)
		}
		if from != 0 && ts > from || to != 0 && ts <= to {
			continue
		}
		hits = append(hits, hit{r, ts, pos})
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].ts != hits[j].ts {
			return hits[i].ts > hits[j].ts
		}
		return hits[i].pos > hits[j].pos
	})
	var out []client.Row
	for _, h := range hits {
		out = append(out, h.row)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

func eventsTable(name string) schema.Table {
	t := schema.Table{DB: "d", Name: name, PartitionNum: 1, ReplicaNum: 1,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp},
			{Name: "v", Type: schema.TypeInt32}, {Name: "c", Type: schema.TypeString}},
		Indexes: []schema.Index{{Keys: []string{"k"}, TS: "ts"}}}
	if err := t.Validate(); err != nil {
		panic(err)
	}
	return t
}

func compileQ(t *testing.T, src RowSource, q string) *FeatureQuery {
	t.Helper()
	st, err := Parse(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	fq, err := CompileFeature(src, "d", st.(*Select))
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return fq
}

func row(vals ...any) client.Row { return client.Row(vals) }

func TestWindowFrames(t *testing.T) {
	src := &memSource{tables: map[string]schema.Table{"t": eventsTable("t"), "u": eventsTable("u")}, rows: map[string][]client.Row{
		"t": {row("a", int64(1000), int32(1), "x"), row("a", int64(2000), int32(2), "y"), row("a", int64(3000), nil, "x"),
			row("a", int64(4000), int32(4), "y"), row("b", int64(1000), int32(100), "x")},
		"u": {row("a", int64(3500), int32(35), "z"), row("a", int64(500), int32(5), "z")},
	}}
	req := row("a", int64(4000), int32(10), "x") // same ts as a stored row
	cases := []struct{ frame, agg, want string }{
		{"ROWS BETWEEN 2 PRECEDING AND CURRENT ROW", "sum(v)", "14"},           // 10 + 4 + NULL
		{"ROWS BETWEEN 2 PRECEDING AND CURRENT ROW", "count(v)", "2"},          // NULL not counted
		{"ROWS BETWEEN 2 PRECEDING AND CURRENT ROW", "count(*)", "3"},          // rows
		{"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW", "sum(v)", "17"},   // 10+4+2+1
		{"ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING", "sum(v)", "6"},            // 4 + NULL + 2
		{"ROWS_RANGE BETWEEN 2s PRECEDING AND CURRENT ROW", "sum(v)", "16"},    // ts 2000..4000: 10+4+2
		{"ROWS_RANGE BETWEEN 2000 PRECEDING AND CURRENT ROW", "count(*)", "4"}, // same frame in ms
		{"ROWS_RANGE BETWEEN 2s PRECEDING AND 1s PRECEDING", "sum(v)", "2"},    // ts 2000..3000
		{"ROWS_RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW", "avg(v)", "4.25"},
		{"ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW EXCLUDE CURRENT_ROW", "sum(v)", "7"},
		{"ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW EXCLUDE CURRENT_TIME", "sum(v)", "13"},
		{"ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW MAXSIZE 2", "sum(v)", "14"},
		{"ROWS BETWEEN 10 PRECEDING AND CURRENT ROW EXCLUDE CURRENT_ROW MAXSIZE 2", "sum(v)", "4"},
		{"UNION u PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW", "sum(v)", "57"},
		{"UNION u PARTITION BY k ORDER BY ts ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW INSTANCE_NOT_IN_WINDOW", "sum(v)", "50"},
		{"UNION u PARTITION BY k ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW", "sum(v)", "49"}, // 10, 4, 35
		{"ROWS BETWEEN 3 PRECEDING AND CURRENT ROW", "lag(v, 1)", "4"},
		{"ROWS BETWEEN 3 PRECEDING AND CURRENT ROW", "lag(v, 2)", "NULL"},
		{"ROWS BETWEEN 3 PRECEDING AND CURRENT ROW", "lag(v, 9)", "NULL"},
		{"ROWS BETWEEN 3 PRECEDING AND CURRENT ROW", "first_value(c)", "x"},
		{"ROWS BETWEEN 3 PRECEDING AND CURRENT ROW", "min(v)", "2"},
		{"ROWS BETWEEN 3 PRECEDING AND CURRENT ROW", "max(c)", "y"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "distinct_count(c)", "2"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "count_where(v, c = 'x')", "2"}, // 10, 1 (NULL v not counted)
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "sum_where(v, v > 1)", "16"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "avg_where(v, c = 'y')", "3"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "min_where(v, c = 'x')", "1"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "max_where(v, c = 'nope')", "NULL"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "count_cate(v, c)", "x:2,y:2"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "sum_cate(v, c)", "x:11,y:6"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "sum_cate_where(v, v > 1, c)", "x:10,y:6"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "top_n_key_count_cate_where(v, v > 0, c, 1)", "y:2"},
		{"ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", "top_n_key_sum_cate_where(v, true, c, 5)", "y:6,x:11"},
		{"ROWS BETWEEN 1 PRECEDING AND CURRENT ROW", "ew_avg(v, 0.5)", "8"},                                            // (10*1 + 4*0.5) / 1.5
		{"ROWS BETWEEN 2 PRECEDING AND CURRENT ROW", "ew_avg(v, 0.5)", "8"},                                            // the NULL row is skipped
		{"ROWS_RANGE BETWEEN 0s PRECEDING AND CURRENT ROW EXCLUDE CURRENT_ROW EXCLUDE CURRENT_TIME", "sum(v)", "NULL"}, // empty window
		{"ROWS_RANGE BETWEEN 0s PRECEDING AND CURRENT ROW EXCLUDE CURRENT_ROW EXCLUDE CURRENT_TIME", "count(v)", "0"},
	}
	for _, c := range cases {
		spec := c.frame
		if !strings.HasPrefix(spec, "UNION") {
			spec = "PARTITION BY k ORDER BY ts " + spec
		}
		q := compileQ(t, src, fmt.Sprintf("SELECT k, %s OVER w AS r FROM t WINDOW w AS (%s)", c.agg, spec))
		out, err := q.Request(context.Background(), src, req, nil)
		if err != nil {
			t.Errorf("%s / %s: %v", c.frame, c.agg, err)
			continue
		}
		if got := formatValue(out[1]); got != c.want {
			t.Errorf("%s OVER (%s) = %s, want %s", c.agg, c.frame, got, c.want)
		}
	}
	// A request whose key has no stored rows: only itself.
	q := compileQ(t, src, "SELECT count(*) OVER w, sum(v) OVER w FROM t WINDOW w AS (PARTITION BY k ORDER BY ts ROWS BETWEEN 5 PRECEDING AND CURRENT ROW)")
	out, err := q.Request(context.Background(), src, row("new", int64(1), int32(3), nil), nil)
	if err != nil || formatValue(out[0]) != "1" || formatValue(out[1]) != "3" {
		t.Errorf("new key: %v %v", out, err)
	}
}

func TestLastJoin(t *testing.T) {
	profiles := schema.Table{DB: "d", Name: "p", PartitionNum: 1, ReplicaNum: 1,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "pts", Type: schema.TypeTimestamp}, {Name: "level", Type: schema.TypeInt32}},
		Indexes: []schema.Index{{Keys: []string{"k"}, TS: "pts"}}}
	_ = profiles.Validate()
	src := &memSource{tables: map[string]schema.Table{"t": eventsTable("t"), "p": profiles}, rows: map[string][]client.Row{
		"p": {row("a", int64(100), int32(1)), row("a", int64(300), int32(3)), row("a", int64(200), int32(2))},
	}}
	q := compileQ(t, src, "SELECT t.k, p.level FROM t LAST JOIN p ORDER BY p.pts ON t.k = p.k")
	for _, c := range []struct {
		req  client.Row
		want string
	}{{row("a", int64(1), int32(0), nil), "3"}, {row("zz", int64(1), int32(0), nil), "NULL"}} {
		out, err := q.Request(context.Background(), src, c.req, nil)
		if err != nil || formatValue(out[1]) != c.want {
			t.Errorf("join for %v: %v %v, want %s", c.req, out, err, c.want)
		}
	}
	// A condition beyond the key: the newest row that satisfies it.
	q = compileQ(t, src, "SELECT p.level FROM t LAST JOIN p ORDER BY p.pts ON t.k = p.k AND p.pts <= t.ts")
	out, err := q.Request(context.Background(), src, row("a", int64(250), int32(0), nil), nil)
	if err != nil || formatValue(out[0]) != "2" {
		t.Errorf("join with a time condition: %v %v", out, err)
	}
	for _, c := range []struct{ q, want string }{
		{"SELECT p.level FROM t LAST JOIN p ON t.c = p.level", "LAST JOIN p needs an index keyed by columns the ON clause equates (level)"},
		{"SELECT p.level FROM t LAST JOIN p ON t.ts > p.pts", "ON needs equality conditions"},
		{"SELECT sum(v) OVER w FROM t WINDOW w AS (PARTITION BY c ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)", "window w needs an index of table t keyed by its PARTITION BY columns with its ORDER BY column as TS: INDEX(KEY=c, TS=ts)"},
		{"SELECT sum(v) OVER w2 FROM t WINDOW w AS (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)", "window w2 is not defined"},
		{"SELECT sum(v) FROM t", "aggregate sum() needs OVER <window>"},
		{"SELECT upper(k) OVER w FROM t WINDOW w AS (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)", "upper is not a window aggregate"},
		{"SELECT sum(v) OVER w FROM t WINDOW w AS (PARTITION BY k ORDER BY c ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)", "ORDER BY column c must be timestamp or bigint"},
	} {
		st, err := Parse(c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.q, err)
		}
		_, err = CompileFeature(src, "d", st.(*Select))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.q, err, c.want)
		}
	}
}

// The consistency promise: for random data, the request-mode output for
// each row (computed against the table without it) equals the offline
// (batch) output for that row.
func TestRequestMatchesBatch(t *testing.T) {
	frames := []string{
		"ROWS BETWEEN 3 PRECEDING AND CURRENT ROW",
		"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
		"ROWS BETWEEN 4 PRECEDING AND 2 PRECEDING",
		"ROWS_RANGE BETWEEN 5s PRECEDING AND CURRENT ROW",
		"ROWS_RANGE BETWEEN 10s PRECEDING AND 2s PRECEDING",
		"ROWS_RANGE BETWEEN 7s PRECEDING AND CURRENT ROW MAXSIZE 3",
		"ROWS_RANGE BETWEEN 7s PRECEDING AND CURRENT ROW EXCLUDE CURRENT_ROW",
		"ROWS_RANGE BETWEEN 7s PRECEDING AND CURRENT ROW EXCLUDE CURRENT_TIME",
		"ROWS BETWEEN 5 PRECEDING AND CURRENT ROW EXCLUDE CURRENT_TIME",
	}
	aggs := "count(*) OVER %[1]s, sum(v) OVER %[1]s, avg(v) OVER %[1]s, min(v) OVER %[1]s, max(c) OVER %[1]s, distinct_count(c) OVER %[1]s, " +
		"count_where(v, c = 'x') OVER %[1]s, lag(v, 1) OVER %[1]s, first_value(v) OVER %[1]s, ew_avg(v, 0.3) OVER %[1]s, " +
		"top_n_key_count_cate_where(v, v > 2, c, 2) OVER %[1]s"
	r := rand.New(rand.NewPCG(11, 12))
	for round := 0; round < 30; round++ {
		tbl := eventsTable("t")
		var rows []client.Row
		n := 5 + r.IntN(40)
		for i := 0; i < n; i++ {
			var v any = int32(r.IntN(10))
			if r.IntN(6) == 0 {
				v = nil
			}
			// Timestamps may repeat (ties), keys are few.
			rows = append(rows, row(fmt.Sprintf("k%d", r.IntN(3)), int64(1000*r.IntN(15)+1), v, []string{"x", "y", "z"}[r.IntN(3)]))
		}
		full := &memSource{tables: map[string]schema.Table{"t": tbl}, rows: map[string][]client.Row{"t": rows}}
		for _, f := range frames {
			q := compileQ(t, full, fmt.Sprintf("SELECT k, ts, "+aggs+" FROM t WINDOW w AS (PARTITION BY k ORDER BY ts %s)", "w", f))
			batch, err := q.Batch(context.Background(), full, rows, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, rr := range rows {
				without := append(append([]client.Row{}, rows[:i]...), rows[i+1:]...)
				src := &memSource{tables: full.tables, rows: map[string][]client.Row{"t": without}}
				got, err := q.Request(context.Background(), src, rr, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, batch[i]) {
					t.Fatalf("round %d, frame %s, row %v:\nrequest %v\nbatch   %v", round, f, rr, got, batch[i])
				}
			}
		}
	}
}
