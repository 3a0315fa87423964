package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/openmldb-go/openmldb/internal/codec"
	"github.com/openmldb-go/openmldb/schema"
)

// snapshotPartition holds rows 100-byte values under 5,000 keys, the shape
// of a partition that pre-upgrade copies to a temporary replica.
func snapshotPartition(b *testing.B, rows int) *Partition {
	tb := table(schema.Index{Keys: []string{"k"}, TS: "ts"})
	p := mustPart(b, tb)
	val := strings.Repeat("x", 100)
	for i := 0; i < rows; i++ {
		r, err := codec.Encode(tb.Columns, []any{fmt.Sprintf("key-%d", i%5000), int64(i + 1), val})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Put(r, 0); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// BenchmarkSnapshotSave50k: writing a 50,000-row partition's snapshot.
func BenchmarkSnapshotSave50k(b *testing.B) {
	p := snapshotPartition(b, 50000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		if err := p.SaveSnapshot(bufio.NewWriter(&buf)); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(buf.Len()))
	}
}

// BenchmarkSnapshotLoad50k: rebuilding a 50,000-row partition from its snapshot.
func BenchmarkSnapshotLoad50k(b *testing.B) {
	p := snapshotPartition(b, 50000)
	var buf bytes.Buffer
	if err := p.SaveSnapshot(bufio.NewWriter(&buf)); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := mustPart(b, p.Table())
		if err := q.LoadSnapshot(bufio.NewReader(bytes.NewReader(data))); err != nil {
			b.Fatal(err)
		}
		if q.Stats().Rows != 50000 {
			b.Fatalf("loaded %d rows, want 50000", q.Stats().Rows)
		}
	}
}
