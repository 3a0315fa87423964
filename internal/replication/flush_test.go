package replication

import (
	"bytes"
	"testing"
)

// A snapshot's bytes sync the disk once per flushEvery, not per write
// and not only at the end; the bytes pass through unchanged.
func TestSnapshotWritesSyncTheDiskAsTheyGo(t *testing.T) {
	syncs := 0
	d := &diskFlusher{every: flushEvery, sync: func() error { syncs++; return nil }}
	var out bytes.Buffer
	w := flushingWriter{w: &out, d: d}
	chunk := bytes.Repeat([]byte("s"), flushEvery/4)
	for i := 0; i < 10; i++ {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if syncs != 2 {
		t.Fatalf("%d syncs after %d bytes, want 2 (one per %d)", syncs, 10*len(chunk), flushEvery)
	}
	if out.Len() != 10*len(chunk) {
		t.Fatalf("%d bytes reached the file, want %d", out.Len(), 10*len(chunk))
	}
	// A host whose directory could not be opened does not flush, and a
	// real one does without error.
	(&diskFlusher{}).wrote(2 * flushEvery)
	host := newDiskFlusher(t.TempDir(), 0)
	defer host.close()
	if host.sync == nil || host.every != flushEvery {
		t.Fatalf("flusher for a readable directory: every %d, want %d", host.every, flushEvery)
	}
	if err := host.sync(); err != nil {
		t.Fatalf("syncfs: %v", err)
	}
	// --snapshot_sync_bytes: its own period, and off below 0.
	if d := newDiskFlusher(t.TempDir(), 4096); d.every != 4096 || d.sync == nil {
		t.Fatalf("every 4096: got every %d", d.every)
	} else {
		d.close()
	}
	if d := newDiskFlusher(t.TempDir(), -1); d.sync != nil {
		t.Fatal("a negative period should turn the syncs off")
	}
}
