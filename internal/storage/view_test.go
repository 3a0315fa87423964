package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/openmldb-go/openmldb/schema"
)

// dump lists every index's keys and their rows, in order.
func dump(t testing.TB, p *Partition) []string {
	var out []string
	for i, ix := range p.Table().Indexes {
		keys := p.Keys(i)
		for _, k := range keys {
			rows, err := p.Scan(k, ScanOptions{Index: ix.Name}, now)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s/%s: %s", ix.Name, k, strings.Join(vals(t, p, rows), ",")))
		}
	}
	return out
}

// TestSnapshotViewIsPointInTime: a view written while the partition goes
// on changing (inserts, a delete, latest-N expiry freeing whole slabs whose
// numbers new rows then reuse) holds exactly what the partition held when
// the view was taken.
func TestSnapshotViewIsPointInTime(t *testing.T) {
	tb := table(schema.Index{Name: "byk", Keys: []string{"k"}, TS: "ts", TTLType: schema.TTLLatest, LatTTL: 5},
		schema.Index{Name: "byv", Keys: []string{"v"}, TS: "ts", TTLType: schema.TTLLatest, LatTTL: 5})
	p := mustPart(t, tb)
	big := strings.Repeat("x", 3000) // a few rows per slab, so expiry frees slabs
	for i := 0; i < 40; i++ {
		put(t, p, fmt.Sprintf("k%d", i%4), int64(i+1), fmt.Sprintf("%s%d", big, i%8))
	}
	want := dump(t, p)
	v := p.PrepareSnapshot()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := p.Delete("byk", "k1"); err != nil {
			t.Error(err)
		}
		for i := 40; i < 400; i++ {
			put(t, p, fmt.Sprintf("k%d", i%4), int64(i+1), fmt.Sprintf("%s%d", big, i%8))
		}
	}()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	err := v.Save(w)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	// Save once more after every change is in: still the old content.
	var again bytes.Buffer
	w = bufio.NewWriter(&again)
	if err := v.Save(w); err != nil {
		t.Fatal(err)
	}
	pinned := p.arena.bytes.Load()
	v.Release()
	if freed := pinned - p.arena.bytes.Load(); freed <= 0 {
		t.Fatalf("release freed %d bytes: the expired rows' slabs stay pinned", freed)
	}
	for _, snap := range [][]byte{buf.Bytes(), again.Bytes()} {
		q := mustPart(t, tb)
		if err := q.LoadSnapshot(bufio.NewReader(bytes.NewReader(snap))); err != nil {
			t.Fatal(err)
		}
		if got := dump(t, q); !reflect.DeepEqual(got, want) {
			t.Fatalf("view holds\n%s\nwant what the partition held when it was taken\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if err := v.Save(bufio.NewWriter(&bytes.Buffer{})); err == nil {
		t.Fatal("a released view saved without error")
	}
}
