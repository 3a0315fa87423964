package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// Snapshot format, version 1 (all integers little-endian or uvarint):
//
//	magic "OMDBPART", u32 version
//	uvarint nrows, then per row: u64 id, uvarint refcount, uvarint len, bytes
//	uvarint nindexes, then per index: uvarint nkeys, then per key:
//	    uvarint keylen, key, uvarint nentries, then per entry: varint ts, u64 row id
//
// Entries are written oldest first. A later version adds a new version
// number and keeps reading this one.
const (
	snapshotMagic   = "OMDBPART"
	SnapshotVersion = 1
)

// ErrBadSnapshot marks a snapshot this code cannot read.
var ErrBadSnapshot = errors.New("bad partition snapshot")

// SaveSnapshot writes the partition as it is now.
func (p *Partition) SaveSnapshot(w *bufio.Writer) error {
	v := p.PrepareSnapshot()
	defer v.Release()
	return v.Save(w)
}

// SnapshotView is the partition's content at one instant. PrepareSnapshot
// captures it quickly, with writers excluded; Save writes it out while
// they run again, so a long snapshot no longer holds up the partition's
// writes (nor, in dragonboat, every partition on the same apply worker).
// It copies each key's entry list and pins the arena slabs they point
// into: later inserts, deletes and expiry change neither what it writes
// nor the row bytes it reads.
type SnapshotView struct {
	arena    *arena
	keys     [][]viewKey // per index
	pins     []slabPin
	released atomic.Bool
}

type viewKey struct {
	key     string
	entries []entry
}

// PrepareSnapshot captures a view of the partition. The caller excludes
// writers (the Raft state machine does); readers may run, GC waits. Call
// Release when done with the view.
func (p *Partition) PrepareSnapshot() *SnapshotView {
	p.idxMu.RLock()
	defer p.idxMu.RUnlock()
	for i := range p.shards {
		p.shards[i].mu.RLock()
	}
	defer func() {
		for i := range p.shards {
			p.shards[i].mu.RUnlock()
		}
	}()
	v := &SnapshotView{arena: p.arena, keys: make([][]viewKey, len(p.indexes))}
	perSlab := map[int]int64{}
	for i := range p.indexes {
		n := 0
		for s := range p.shards {
			n += len(p.shards[s].keys[i])
		}
		keys := make([]viewKey, 0, n)
		for s := range p.shards {
			for key, kl := range p.shards[s].keys[i] {
				keys = append(keys, viewKey{key: key, entries: append([]entry(nil), kl.entries...)})
				for _, e := range kl.entries {
					perSlab[e.ref.slab()]++
				}
			}
		}
		v.keys[i] = keys
	}
	v.pins = p.arena.pin(perSlab)
	return v
}

// Release unpins the view's slabs; it is safe to call more than once.
func (v *SnapshotView) Release() {
	if v.released.CompareAndSwap(false, true) {
		v.arena.unpin(v.pins)
	}
}

// Save writes the view in the snapshot format. It may run concurrently
// with writes to the partition, not after Release.
func (v *SnapshotView) Save(w *bufio.Writer) error {
	if v.released.Load() {
		return errors.New("partition snapshot view saved after release")
	}
	counts := map[ref]uint64{}
	for i := range v.keys {
		for _, k := range v.keys[i] {
			for _, e := range k.entries {
				counts[e.ref]++
			}
		}
	}
	var tmp [binary.MaxVarintLen64]byte
	uv := func(n uint64) { w.Write(binary.AppendUvarint(tmp[:0], n)) }
	w.WriteString(snapshotMagic)
	w.Write(binary.LittleEndian.AppendUint32(tmp[:0], SnapshotVersion))
	uv(uint64(len(counts)))
	for r, n := range counts {
		w.Write(binary.LittleEndian.AppendUint64(tmp[:0], uint64(r)))
		uv(n)
		data := v.arena.get(r)
		uv(uint64(len(data)))
		w.Write(data)
	}
	uv(uint64(len(v.keys)))
	for i := range v.keys {
		uv(uint64(len(v.keys[i])))
		for _, k := range v.keys[i] {
			uv(uint64(len(k.key)))
			w.WriteString(k.key)
			uv(uint64(len(k.entries)))
			for _, e := range k.entries {
				w.Write(binary.AppendVarint(tmp[:0], e.ts))
				w.Write(binary.LittleEndian.AppendUint64(tmp[:0], uint64(e.ref)))
			}
		}
	}
	return w.Flush()
}

// LoadSnapshot replaces an empty partition's content with a snapshot.
func (p *Partition) LoadSnapshot(r *bufio.Reader) (err error) {
	p.idxMu.Lock()
	defer p.idxMu.Unlock()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))
	}
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapshotMagic {
		return bad("missing magic")
	}
	var vb [8]byte
	if _, err := io.ReadFull(r, vb[:4]); err != nil {
		return bad("truncated header")
	}
	if v := binary.LittleEndian.Uint32(vb[:4]); v != SnapshotVersion {
		return bad("version %d, this build reads version %d", v, SnapshotVersion)
	}
	u64 := func() (uint64, error) {
		if _, err := io.ReadFull(r, vb[:]); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(vb[:]), nil
	}
	nrows, err := binary.ReadUvarint(r)
	if err != nil {
		return bad("row count: %v", err)
	}
	remap := make(map[uint64]ref, nrows)
	for k := uint64(0); k < nrows; k++ {
		id, err := u64()
		if err != nil {
			return bad("row %d: %v", k, err)
		}
		cnt, err := binary.ReadUvarint(r)
		if err != nil {
			return bad("row %d: %v", k, err)
		}
		n, err := binary.ReadUvarint(r)
		if err != nil || n > 1<<30 {
			return bad("row %d length", k)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return bad("row %d: %v", k, err)
		}
		remap[id] = p.arena.add(data, int(cnt))
	}
	nidx, err := binary.ReadUvarint(r)
	if err != nil || nidx == 0 || nidx > uint64(len(p.indexes)) {
		return bad("snapshot has %d indexes, table has %d", nidx, len(p.indexes))
	}
	// Indexes added after the snapshot was taken are built from its rows.
	defer func() {
		for i := int(nidx); err == nil && i < len(p.indexes); i++ {
			p.backfillLocked(i)
		}
	}()
	for i := range p.indexes[:nidx] {
		nkeys, err := binary.ReadUvarint(r)
		if err != nil {
			return bad("index %d: %v", i, err)
		}
		for k := uint64(0); k < nkeys; k++ {
			kl, err := binary.ReadUvarint(r)
			if err != nil || kl > 1<<24 {
				return bad("key length")
			}
			kb := make([]byte, kl)
			if _, err := io.ReadFull(r, kb); err != nil {
				return bad("key: %v", err)
			}
			ne, err := binary.ReadUvarint(r)
			if err != nil || ne > 1<<40 {
				return bad("entry count")
			}
			list := &keyList{entries: make([]entry, 0, ne)}
			for e := uint64(0); e < ne; e++ {
				ts, err := binary.ReadVarint(r)
				if err != nil {
					return bad("entry: %v", err)
				}
				id, err := u64()
				if err != nil {
					return bad("entry: %v", err)
				}
				nr, ok := remap[id]
				if !ok {
					return bad("entry points at unknown row %d", id)
				}
				list.entries = append(list.entries, entry{ts: ts, ref: nr})
			}
			key := string(kb)
			sh := &p.shards[shardOf(key)]
			sh.mu.Lock()
			sh.keys[i][key] = list
			sh.mu.Unlock()
			p.keys.Add(1)
			p.entries.Add(int64(ne))
			if i == 0 {
				p.rows.Add(int64(ne))
			}
		}
	}
	return nil
}
