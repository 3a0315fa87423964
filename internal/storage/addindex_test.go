package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/openmldb-go/openmldb/schema"
)

func TestAddIndexBackfillsAndServes(t *testing.T) {
	p := mustPart(t, table(schema.Index{Keys: []string{"k"}, TS: "ts"}))
	put(t, p, "a", 10, "x")
	put(t, p, "b", 20, "x")
	put(t, p, "a", 30, "y")
	// A snapshot taken before the index exists.
	var snap bytes.Buffer
	w := bufio.NewWriter(&snap)
	if err := p.SaveSnapshot(w); err != nil {
		t.Fatal(err)
	}
	_ = w.Flush()
	byV := schema.Index{Name: "by_v", Keys: []string{"v"}, TS: "ts", TTLType: schema.TTLAbsolute}
	if err := p.AddIndex(byV); err != nil {
		t.Fatal(err)
	}
	if err := p.AddIndex(byV); err != nil { // idempotent
		t.Fatal(err)
	}
	if n := len(p.Table().Indexes); n != 2 {
		t.Fatalf("indexes: %d", n)
	}
	rows, err := p.Scan("x", ScanOptions{Index: "by_v"}, now)
	if err != nil || !reflect.DeepEqual(vals(t, p, rows), []string{"20:x", "10:x"}) {
		t.Fatalf("backfilled index: %v %v", vals(t, p, rows), err)
	}
	put(t, p, "c", 40, "x") // new writes go to the new index too
	rows, _ = p.Scan("x", ScanOptions{Index: "by_v"}, now)
	if !reflect.DeepEqual(vals(t, p, rows), []string{"40:x", "20:x", "10:x"}) {
		t.Fatalf("after a write: %v", vals(t, p, rows))
	}
	// Deleting by the new index removes the rows from the first one too.
	if n, err := p.Delete("by_v", "y"); err != nil || n != 1 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if rows, _ := p.Scan("a", ScanOptions{}, now); !reflect.DeepEqual(vals(t, p, rows), []string{"10:x"}) {
		t.Fatalf("first index after delete: %v", vals(t, p, rows))
	}
	// The old snapshot loads into a partition that has the new index.
	q := mustPart(t, p.Table())
	if err := q.LoadSnapshot(bufio.NewReader(bytes.NewReader(snap.Bytes()))); err != nil {
		t.Fatal(err)
	}
	rows, _ = q.Scan("x", ScanOptions{Index: "by_v"}, now)
	if !reflect.DeepEqual(vals(t, q, rows), []string{"20:x", "10:x"}) {
		t.Fatalf("index built on snapshot load: %v", vals(t, q, rows))
	}
	// A snapshot with more indexes than the table is refused.
	var snap2 bytes.Buffer
	w = bufio.NewWriter(&snap2)
	_ = p.SaveSnapshot(w)
	_ = w.Flush()
	r := mustPart(t, table(schema.Index{Keys: []string{"k"}, TS: "ts"}))
	if err := r.LoadSnapshot(bufio.NewReader(bytes.NewReader(snap2.Bytes()))); err == nil {
		t.Fatal("want an error for a snapshot with an unknown index")
	}
}

// Writes during AddIndex are neither lost nor doubled (run with -race).
func TestAddIndexConcurrentWrites(t *testing.T) {
	p := mustPart(t, table(schema.Index{Keys: []string{"k"}, TS: "ts"}))
	for i := 0; i < 2000; i++ {
		put(t, p, fmt.Sprintf("k%d", i%50), int64(i+1), "v")
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 2000; i < 4000; i++ {
			put(t, p, fmt.Sprintf("k%d", i%50), int64(i+1), "v")
		}
	}()
	if err := p.AddIndex(schema.Index{Name: "by_v", Keys: []string{"v"}, TS: "ts", TTLType: schema.TTLAbsolute}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	rows, err := p.Scan("v", ScanOptions{Index: "by_v"}, now)
	if err != nil || len(rows) != 4000 {
		t.Fatalf("new index holds %d rows, want 4000 (%v)", len(rows), err)
	}
}
