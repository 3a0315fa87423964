package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/internal/codec"
	"github.com/openmldb-go/openmldb/schema"
)

func table(ix ...schema.Index) schema.Table {
	t := schema.Table{DB: "db", Name: "t", PartitionNum: 1, ReplicaNum: 1,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp}, {Name: "v", Type: schema.TypeString}},
		Indexes: ix}
	if err := t.Validate(); err != nil {
		panic(err)
	}
	return t
}

func mustPart(t testing.TB, tb schema.Table) *Partition {
	p, err := NewPartition(tb)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func put(t testing.TB, p *Partition, k string, ts int64, v string) {
	t.Helper()
	b, err := codec.Encode(p.table.Columns, []any{k, ts, v})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Put(b, 0); err != nil {
		t.Fatal(err)
	}
}

func vals(t testing.TB, p *Partition, rows []Row) []string {
	var out []string
	for _, r := range rows {
		v, err := codec.Decode(p.table.Columns, r.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d:%s", r.TS, v[2]))
	}
	return out
}

var now = time.UnixMilli(1_000_000_000)

func TestOrderingAndDuplicates(t *testing.T) {
	p := mustPart(t, table(schema.Index{Keys: []string{"k"}, TS: "ts"}))
	put(t, p, "a", 20, "x")
	put(t, p, "a", 10, "y")
	put(t, p, "a", 30, "z")
	put(t, p, "a", 20, "w") // same ts, inserted later: comes first
	put(t, p, "b", 5, "other")
	rows, _ := p.Scan("a", ScanOptions{}, now)
	if got := fmt.Sprint(vals(t, p, rows)); got != "[30:z 20:w 20:x 10:y]" {
		t.Fatal(got)
	}
	r, ok, _ := p.Get("a", ScanOptions{AtTS: 20}, now)
	if !ok || fmt.Sprint(vals(t, p, []Row{r})) != "[20:w]" {
		t.Fatal("get at ts", r, ok)
	}
	if _, ok, _ := p.Get("a", ScanOptions{AtTS: 25}, now); ok {
		t.Fatal("get at missing ts found a row")
	}
	if _, ok, _ := p.Get("nokey", ScanOptions{}, now); ok {
		t.Fatal("missing key found")
	}
	// Bounds: ts in (To, From].
	rows, _ = p.Scan("a", ScanOptions{From: 20, To: 10}, now)
	if got := fmt.Sprint(vals(t, p, rows)); got != "[20:w 20:x]" {
		t.Fatal("bounds", got)
	}
	rows, _ = p.Scan("a", ScanOptions{Limit: 2}, now)
	if len(rows) != 2 {
		t.Fatal("limit", len(rows))
	}
	if n, _ := p.Count("a", "", now); n != 4 {
		t.Fatal("count", n)
	}
	if st := p.Stats(); st.Rows != 5 || st.Keys != 2 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := p.Scan("a", ScanOptions{Index: "nope"}, now); err == nil {
		t.Fatal("unknown index accepted")
	}
}

func TestTTLTypes(t *testing.T) {
	nowMs := now.UnixMilli()
	old, fresh := nowMs-2*time.Hour.Milliseconds(), nowMs-time.Minute.Milliseconds()
	cases := []struct {
		ix          schema.Index
		wantVisible int
	}{
		{schema.Index{TTLType: schema.TTLAbsolute, AbsTTL: time.Hour}, 2}, // 2 fresh
		{schema.Index{TTLType: schema.TTLLatest, LatTTL: 3}, 3},           // newest 3
		{schema.Index{TTLType: schema.TTLAbsOrLat, AbsTTL: time.Hour, LatTTL: 1}, 1},
		{schema.Index{TTLType: schema.TTLAbsAndLat, AbsTTL: time.Hour, LatTTL: 3}, 3}, // the 3rd is old but within latest 3
		{schema.Index{TTLType: schema.TTLAbsolute}, 4},                                // 0 = never
	}
	for _, tc := range cases {
		ix := tc.ix
		ix.Keys, ix.TS = []string{"k"}, "ts"
		p := mustPart(t, table(ix))
		put(t, p, "a", old-2, "o2")
		put(t, p, "a", old, "o1")
		put(t, p, "a", fresh, "f1")
		put(t, p, "a", fresh+1, "f2")
		n, _ := p.Count("a", "", now)
		if n != tc.wantVisible {
			t.Errorf("%s %v/%d: %d visible, want %d", ix.TTLType, ix.AbsTTL, ix.LatTTL, n, tc.wantVisible)
		}
		p.GC(now)
		if st := p.Stats(); st.Rows != int64(tc.wantVisible) {
			t.Errorf("%s: after GC %d rows stored, want %d", ix.TTLType, st.Rows, tc.wantVisible)
		}
		if n2, _ := p.Count("a", "", now); n2 != n {
			t.Errorf("%s: GC changed what is visible: %d -> %d", ix.TTLType, n, n2)
		}
	}
}

func TestGCFreesMemory(t *testing.T) {
	p := mustPart(t, table(schema.Index{Keys: []string{"k"}, TS: "ts", TTLType: schema.TTLAbsolute, AbsTTL: time.Minute}))
	big := string(bytes.Repeat([]byte("x"), 1000))
	for i := 0; i < 5000; i++ {
		put(t, p, fmt.Sprint("k", i%50), int64(i), big)
	}
	before := p.Stats().MemoryBytes
	if removed := p.GC(time.UnixMilli(10 * 60 * 1000)); removed != 5000 {
		t.Fatalf("GC removed %d", removed)
	}
	st := p.Stats()
	if st.Rows != 0 || st.Keys != 0 || st.MemoryBytes >= before/2 {
		t.Fatalf("after GC: %+v (before %d bytes)", st, before)
	}
}

func TestDeleteAcrossIndexes(t *testing.T) {
	tb := table(schema.Index{Keys: []string{"k"}, TS: "ts"}, schema.Index{Keys: []string{"v"}, TS: "ts"})
	p := mustPart(t, tb)
	put(t, p, "a", 1, "x")
	put(t, p, "a", 2, "y")
	put(t, p, "b", 3, "x")
	n, err := p.Delete("", "a")
	if err != nil || n != 2 {
		t.Fatal(n, err)
	}
	rows, _ := p.Scan("x", ScanOptions{Index: "INDEX_1"}, now)
	if got := fmt.Sprint(vals(t, p, rows)); got != "[3:x]" {
		t.Fatal(got)
	}
	if c, _ := p.Count("y", "INDEX_1", now); c != 0 {
		t.Fatal("row survived in second index")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	tb := table(schema.Index{Keys: []string{"k"}, TS: "ts"}, schema.Index{Keys: []string{"k", "v"}, TS: "ts"})
	p := mustPart(t, tb)
	for i := 0; i < 1000; i++ {
		put(t, p, fmt.Sprint("k", i%37), int64(i%100), fmt.Sprint("v", i%3))
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := p.SaveSnapshot(w); err != nil {
		t.Fatal(err)
	}
	q := mustPart(t, tb)
	if err := q.LoadSnapshot(bufio.NewReader(bytes.NewReader(buf.Bytes()))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 37; i++ {
		k := fmt.Sprint("k", i)
		a, _ := p.Scan(k, ScanOptions{}, now)
		b, _ := q.Scan(k, ScanOptions{}, now)
		if fmt.Sprint(vals(t, p, a)) != fmt.Sprint(vals(t, q, b)) {
			t.Fatalf("key %s differs after snapshot", k)
		}
		a, _ = p.Scan(k+"|v1", ScanOptions{Index: "INDEX_1"}, now)
		b, _ = q.Scan(k+"|v1", ScanOptions{Index: "INDEX_1"}, now)
		if fmt.Sprint(vals(t, p, a)) != fmt.Sprint(vals(t, q, b)) {
			t.Fatalf("second index of %s differs after snapshot", k)
		}
	}
	if p.Stats().Rows != q.Stats().Rows {
		t.Fatal("row counts differ")
	}
	// Truncated or foreign bytes are refused, not half-loaded silently.
	for _, b := range [][]byte{buf.Bytes()[:len(buf.Bytes())/2], []byte("NOTASNAP"), nil} {
		if err := mustPart(t, tb).LoadSnapshot(bufio.NewReader(bytes.NewReader(b))); err == nil {
			t.Fatalf("bad snapshot of %d bytes accepted", len(b))
		}
	}
}

// BenchmarkPut reports insert cost and memory per row for 100-byte values
// spread over 10k keys with one index.
func BenchmarkPut(b *testing.B) {
	p := mustPart(b, table(schema.Index{Keys: []string{"k"}, TS: "ts"}))
	val := string(bytes.Repeat([]byte("v"), 100))
	rows := make([][]byte, 10000)
	for i := range rows {
		rows[i], _ = codec.Encode(p.table.Columns, []any{fmt.Sprintf("key%08d", i), int64(0), val})
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rows[i%len(rows)]
		// stamp a distinct ts: bytes 1..8 after the 1-byte bitmap hold the key length first, so rebuild
		_ = p.Put(r, int64(i))
	}
	b.StopTimer()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heapB/row")
	b.ReportMetric(float64(p.Stats().MemoryBytes)/float64(b.N), "acctB/row")
}

func BenchmarkGetLatest(b *testing.B) {
	p := mustPart(b, table(schema.Index{Keys: []string{"k"}, TS: "ts"}))
	val := string(bytes.Repeat([]byte("v"), 100))
	for i := 0; i < 100000; i++ {
		put(b, p, fmt.Sprintf("key%05d", i%10000), int64(i), val)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok, _ := p.Get(fmt.Sprintf("key%05d", i%10000), ScanOptions{}, now); !ok {
			b.Fatal("missing")
		}
	}
}
