package tablet

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openmldb-go/openmldb/internal/replication"
	"github.com/openmldb-go/openmldb/internal/storage"
	"github.com/openmldb-go/openmldb/schema"
)

// dedupWindow is how many recent request ids a partition remembers: a
// retry arriving after this many newer writes to the same partition would
// be applied again. Retries come within seconds; this is minutes of load.
const dedupWindow = 1 << 18

// replica is the Raft state machine of one partition replica.
type replica struct {
	tid, pid uint32
	shardID  uint64
	table    schema.Table
	part     *storage.Partition
	applied  atomic.Uint64
	log      *slog.Logger

	// applyWaiters wait, through waitApplied, for applied to reach an
	// index; an apply closes appliedCh (and clears it) while any do.
	applyWaiters atomic.Int32
	appliedMu    sync.Mutex
	appliedCh    chan struct{}

	// dedup state: touched only by Apply/Save/Load, which never overlap.
	seen  map[requestID]struct{}
	order []requestID // ring, oldest at head
	head  int
}

func newReplica(tid, pid uint32, shardID uint64, t schema.Table, log *slog.Logger) (*replica, error) {
	p, err := storage.NewPartition(t)
	if err != nil {
		return nil, err
	}
	return &replica{tid: tid, pid: pid, shardID: shardID, table: t, part: p, log: log,
		seen: map[requestID]struct{}{}}, nil
}

func (r *replica) remember(id requestID) bool {
	if id.client == 0 && id.seq == 0 {
		return true // no id: never deduplicated
	}
	if _, dup := r.seen[id]; dup {
		return false
	}
	if len(r.order) < dedupWindow {
		r.order = append(r.order, id)
	} else {
		delete(r.seen, r.order[r.head])
		r.order[r.head] = id
		r.head = (r.head + 1) % dedupWindow
	}
	r.seen[id] = struct{}{}
	return true
}

// Apply implements replication.StateMachine. It must be deterministic.
func (r *replica) Apply(index uint64, cmd []byte) (uint64, []byte) {
	defer r.setApplied(index)
	c, err := decodeCommand(cmd)
	if err != nil {
		r.log.Error("skipping undecodable raft entry", "tid", r.tid, "pid", r.pid, "index", index, "err", err)
		return 0, nil
	}
	switch c := c.(type) {
	case putCmd:
		var n uint64
		for i, row := range c.rows {
			if !r.remember(c.ids[i]) {
				continue
			}
			if err := r.part.Put(row, c.insertTS); err != nil {
				// Rows are validated before they are proposed; this is a bug
				// or a corrupt log, and every replica skips the same row.
				r.log.Error("skipping row that does not apply", "tid", r.tid, "pid", r.pid, "index", index, "err", err)
				continue
			}
			n++
		}
		return n, nil
	case deleteCmd:
		if !r.remember(c.id) {
			return 0, nil
		}
		n, err := r.part.Delete(c.index, c.key)
		if err != nil {
			r.log.Error("delete does not apply", "index", index, "err", err)
		}
		return uint64(n), nil
	}
	return 0, nil
}

func (r *replica) setApplied(index uint64) {
	r.applied.Store(index)
	if r.applyWaiters.Load() == 0 {
		return
	}
	r.appliedMu.Lock()
	if r.appliedCh != nil {
		close(r.appliedCh)
		r.appliedCh = nil
	}
	r.appliedMu.Unlock()
}

// waitApplied waits until the replica has applied index want, for at most
// limit; it reports whether it has.
func (r *replica) waitApplied(ctx context.Context, want uint64, limit time.Duration) bool {
	if r.applied.Load() >= want {
		return true
	}
	r.applyWaiters.Add(1)
	defer r.applyWaiters.Add(-1)
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		r.appliedMu.Lock()
		if r.appliedCh == nil {
			r.appliedCh = make(chan struct{})
		}
		ch := r.appliedCh
		r.appliedMu.Unlock()
		if r.applied.Load() >= want {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return r.applied.Load() >= want
		case <-ctx.Done():
			return false
		}
	}
}

// Replica snapshot: magic "OMDBREPL", u32 version 1, u64 applied index,
// uvarint n + n × (u64 client, u64 seq) dedup ids oldest first, then the
// partition snapshot (storage format).
const replicaMagic = "OMDBREPL"

func (r *replica) Save(w *bufio.Writer) error {
	return writeReplicaSnapshot(w, r.applied.Load(), r.dedupOrder(), r.part.SaveSnapshot)
}

// dedupOrder copies the remembered request ids, oldest first.
func (r *replica) dedupOrder() []requestID {
	order := make([]requestID, 0, len(r.order))
	for i := 0; i < len(r.order); i++ {
		order = append(order, r.order[(r.head+i)%len(r.order)])
	}
	return order
}

// Prepare implements replication.Preparer: it captures the applied
// index, the dedup window and a view of the partition (Apply is excluded
// meanwhile), and returns what writes them out while Apply goes on.
func (r *replica) Prepare() (replication.SaveFunc, error) {
	applied, order := r.applied.Load(), r.dedupOrder()
	view := r.part.PrepareSnapshot()
	return replication.SaveFunc{
		Save:    func(w *bufio.Writer) error { return writeReplicaSnapshot(w, applied, order, view.Save) },
		Release: view.Release,
	}, nil
}

func writeReplicaSnapshot(w *bufio.Writer, applied uint64, order []requestID, savePart func(*bufio.Writer) error) error {
	var tmp [16]byte
	w.WriteString(replicaMagic)
	w.Write(binary.LittleEndian.AppendUint32(tmp[:0], 1))
	w.Write(binary.LittleEndian.AppendUint64(tmp[:0], applied))
	w.Write(binary.AppendUvarint(tmp[:0], uint64(len(order))))
	for _, id := range order {
		w.Write(binary.LittleEndian.AppendUint64(tmp[:0], id.client))
		w.Write(binary.LittleEndian.AppendUint64(tmp[:0], id.seq))
	}
	return savePart(w)
}

func (r *replica) Load(rd *bufio.Reader) error {
	head := make([]byte, len(replicaMagic)+4+8)
	if _, err := io.ReadFull(rd, head); err != nil || string(head[:8]) != replicaMagic {
		return fmt.Errorf("replica snapshot: bad header")
	}
	if v := binary.LittleEndian.Uint32(head[8:12]); v != 1 {
		return fmt.Errorf("replica snapshot version %d: this build reads 1", v)
	}
	applied := binary.LittleEndian.Uint64(head[12:])
	n, err := binary.ReadUvarint(rd)
	if err != nil || n > dedupWindow {
		return fmt.Errorf("replica snapshot: bad dedup count")
	}
	// The current definition: indexes added since the replica started count.
	fresh, err := newReplica(r.tid, r.pid, r.shardID, r.part.Table(), r.log)
	if err != nil {
		return err
	}
	var b [16]byte
	for i := uint64(0); i < n; i++ {
		if _, err := io.ReadFull(rd, b[:]); err != nil {
			return fmt.Errorf("replica snapshot: %w", err)
		}
		fresh.remember(requestID{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])})
	}
	if err := fresh.part.LoadSnapshot(rd); err != nil {
		return err
	}
	r.part, r.seen, r.order, r.head = fresh.part, fresh.seen, fresh.order, fresh.head
	r.setApplied(applied)
	return nil
}

func (r *replica) Close() error { return nil }

// checksum hashes every visible row of every key of the first index, in
// key order, so identical replicas give identical sums.
func (r *replica) checksum(now time.Time) uint64 {
	h := fnv.New64a()
	for _, k := range r.part.Keys(0) {
		rows, _ := r.part.Scan(k, storage.ScanOptions{}, now)
		h.Write([]byte(k))
		for _, row := range rows {
			var tb [8]byte
			binary.LittleEndian.PutUint64(tb[:], uint64(row.TS))
			h.Write(tb[:])
			h.Write(row.Data)
		}
	}
	return h.Sum64()
}
