package replication

import (
	"io"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// flushEvery: while a snapshot file is written (saved by a leader, or
// received from one), the file system holding the Raft data is synced
// every this many bytes, so that dragonboat's single fdatasync at the end
// of the file finds little left to write. On ext4 a sync of tens of MB
// holds every Raft log commit on that file system until the data is on
// disk: BenchmarkSnapshotWriteStall measured ~120 ms for a 60 MB
// partition, on every partition of both tablets at once. dragonboat's own
// file-system hook cannot do this (its log store refuses any file system
// but the default), so the syncs come from the two places our code sees
// the bytes: the state machine's save and the transport's chunks.
// Config.SnapshotSyncBytes overrides it (the tablet's
// --snapshot_sync_bytes).
const flushEvery = 1 << 20

// diskFlusher syncs the file system of the Raft data directory.
type diskFlusher struct {
	dir     *os.File     // the directory's handle, closed with the host
	sync    func() error // nil: flushing is off (turned off, or the directory could not be opened)
	every   int64
	pending atomic.Int64
}

// newDiskFlusher syncs dir's file system every `every` bytes; every < 0
// turns it off, 0 means flushEvery.
func newDiskFlusher(dir string, every int64) *diskFlusher {
	if every < 0 {
		return &diskFlusher{}
	}
	if every == 0 {
		every = flushEvery
	}
	f, err := os.Open(dir)
	if err != nil {
		return &diskFlusher{}
	}
	return &diskFlusher{dir: f, every: every, sync: func() error { return unix.Syncfs(int(f.Fd())) }}
}

// wrote counts n bytes written to a snapshot file and syncs the file
// system once d.every bytes are pending. A failed sync is harmless:
// dragonboat still syncs each file before it uses it.
func (d *diskFlusher) wrote(n int) {
	if d == nil || d.sync == nil {
		return
	}
	if d.pending.Add(int64(n)) < d.every {
		return
	}
	d.pending.Store(0)
	_ = d.sync()
}

func (d *diskFlusher) close() {
	if d != nil && d.dir != nil {
		_ = d.dir.Close()
	}
}

// flushingWriter is a snapshot's writer that tells the flusher what went
// through it.
type flushingWriter struct {
	w io.Writer
	d *diskFlusher
}

func (f flushingWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.d.wrote(n)
	return n, err
}
