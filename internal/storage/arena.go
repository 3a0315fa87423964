package storage

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

const (
	slabSize    = 1 << 20
	minSlabSize = 16 << 10
)

// ref locates a row: slab number in the high 32 bits, offset in the low.
type ref uint64

func makeRef(slab, off int) ref { return ref(uint64(slab)<<32 | uint64(off)) }
func (r ref) slab() int         { return int(r >> 32) }
func (r ref) off() int          { return int(uint32(r)) }

type slab struct {
	// data is allocated at full size and never re-sliced: rows are
	// written past used, under the arena lock, while readers (and
	// snapshot saves) read rows before it without that lock.
	data []byte
	used int
	// live counts index entries that point into this slab; at zero (and not
	// the slab being filled) the slab is freed.
	live atomic.Int64
}

// arena stores encoded rows as uvarint length + bytes in 1 MiB slabs.
type arena struct {
	mu    sync.RWMutex
	slabs []*slab
	free  []int
	cur   int // slab being filled, -1 for none
	bytes atomic.Int64
}

func newArena() *arena { return &arena{cur: -1} }

// add copies row in and returns its ref; refs is the number of index
// entries that will point at it.
func (a *arena) add(row []byte, refs int) ref {
	need := binary.MaxVarintLen32 + len(row)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur < 0 || a.slabs[a.cur].used+need > len(a.slabs[a.cur].data) {
		// Start small (many partitions hold little) and double up to slabSize.
		size := minSlabSize
		if a.cur >= 0 {
			size = min(2*len(a.slabs[a.cur].data), slabSize)
		}
		if need > size {
			size = need
		}
		s := &slab{data: make([]byte, size)}
		a.bytes.Add(int64(size))
		old := a.cur
		if n := len(a.free); n > 0 {
			a.cur = a.free[n-1]
			a.free = a.free[:n-1]
			a.slabs[a.cur] = s
		} else {
			a.cur = len(a.slabs)
			a.slabs = append(a.slabs, s)
		}
		if old >= 0 && a.slabs[old].live.Load() == 0 {
			a.releaseLocked(old)
		}
	}
	s := a.slabs[a.cur]
	off := s.used
	n := binary.PutUvarint(s.data[off:], uint64(len(row)))
	s.used = off + n + copy(s.data[off+n:], row)
	s.live.Add(int64(refs))
	return makeRef(a.cur, off)
}

// get returns the row bytes; the slice aliases the arena and must not be
// kept past the reader's lock on the index shard.
func (a *arena) get(r ref) []byte {
	a.mu.RLock()
	s := a.slabs[r.slab()]
	a.mu.RUnlock()
	n, w := binary.Uvarint(s.data[r.off():])
	start := r.off() + w
	return s.data[start : start+int(n)]
}

// addRef counts one more index entry pointing at r.
func (a *arena) addRef(r ref) {
	a.mu.RLock()
	s := a.slabs[r.slab()]
	a.mu.RUnlock()
	s.live.Add(1)
}

// unref drops one index entry's reference.
func (a *arena) unref(r ref) {
	a.mu.RLock()
	s := a.slabs[r.slab()]
	a.mu.RUnlock()
	if s.live.Add(-1) == 0 {
		a.mu.Lock()
		if r.slab() != a.cur && a.slabs[r.slab()] == s && s.live.Load() == 0 {
			a.releaseLocked(r.slab())
		}
		a.mu.Unlock()
	}
}

// slabPin is a count of references a snapshot view holds on one slab.
type slabPin struct {
	i int
	s *slab
	n int64
}

// pin adds n references per slab number, so that the slabs (and the row
// bytes in them) outlive every entry that points there now.
func (a *arena) pin(perSlab map[int]int64) []slabPin {
	a.mu.RLock()
	defer a.mu.RUnlock()
	pins := make([]slabPin, 0, len(perSlab))
	for i, n := range perSlab {
		s := a.slabs[i]
		s.live.Add(n)
		pins = append(pins, slabPin{i: i, s: s, n: n})
	}
	return pins
}

// unpin drops pin's references, freeing slabs no entry points into any more.
func (a *arena) unpin(pins []slabPin) {
	for _, p := range pins {
		if p.s.live.Add(-p.n) == 0 {
			a.mu.Lock()
			if p.i != a.cur && a.slabs[p.i] == p.s && p.s.live.Load() == 0 {
				a.releaseLocked(p.i)
			}
			a.mu.Unlock()
		}
	}
}

func (a *arena) releaseLocked(i int) {
	a.bytes.Add(-int64(len(a.slabs[i].data)))
	a.slabs[i] = nil
	a.free = append(a.free, i)
}
