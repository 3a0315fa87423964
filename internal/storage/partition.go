package storage

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openmldb-go/openmldb/internal/codec"
	"github.com/openmldb-go/openmldb/schema"
)

// ErrNoIndex is returned for an index name the table does not have.
var ErrNoIndex = errors.New("no such index")

const numShards = 64

type entry struct {
	ts  int64
	ref ref
}

// keyList holds a key's entries in ascending ts order; equal timestamps
// keep insertion order. Reads walk it backwards (newest first). Expiry
// trims the front.
type keyList struct {
	entries []entry
}

type shard struct {
	mu   sync.RWMutex
	keys []map[string]*keyList // one map per index
}

type indexInfo struct {
	def     schema.Index
	keyCols []int
	tsCol   int // -1: the row's insertion time
}

// Partition is one partition replica's data.
type Partition struct {
	// idxMu guards the index list (table and indexes): every operation
	// holds it shared, AddIndex exclusively. Lock order: idxMu, then a shard.
	idxMu   sync.RWMutex
	table   schema.Table
	indexes []indexInfo
	shards  [numShards]shard
	arena   *arena
	entries atomic.Int64 // index entries, for memory accounting
	rows    atomic.Int64 // rows in the first index (the table's row count)
	keys    atomic.Int64
}

// NewPartition creates an empty partition for a validated table.
func NewPartition(t schema.Table) (*Partition, error) {
	p := &Partition{table: t, arena: newArena()}
	for _, ix := range t.Indexes {
		info, err := newIndexInfo(t, ix)
		if err != nil {
			return nil, err
		}
		p.indexes = append(p.indexes, info)
	}
	for i := range p.shards {
		p.shards[i].keys = make([]map[string]*keyList, len(p.indexes))
		for j := range p.indexes {
			p.shards[i].keys[j] = map[string]*keyList{}
		}
	}
	return p, nil
}

func newIndexInfo(t schema.Table, ix schema.Index) (indexInfo, error) {
	info := indexInfo{def: ix, tsCol: -1}
	for _, k := range ix.Keys {
		ci := t.ColumnIndex(k)
		if ci < 0 {
			return info, fmt.Errorf("%w: index key %s is not a column", schema.ErrInvalid, k)
		}
		info.keyCols = append(info.keyCols, ci)
	}
	if ix.TS != "" {
		if info.tsCol = t.ColumnIndex(ix.TS); info.tsCol < 0 {
			return info, fmt.Errorf("%w: index ts %s is not a column", schema.ErrInvalid, ix.TS)
		}
	}
	return info, nil
}

// Table is the partition's table definition (with every index added).
func (p *Partition) Table() schema.Table {
	p.idxMu.RLock()
	defer p.idxMu.RUnlock()
	t := p.table
	t.Indexes = append([]schema.Index(nil), p.table.Indexes...)
	return t
}

// AddIndex adds an index and fills it from the stored rows. It is
// idempotent (an index of that name is left alone) and deterministic: the
// rows are inserted in an order that depends only on their contents, so
// every replica builds the same index. Writes wait while it runs.
func (p *Partition) AddIndex(def schema.Index) error {
	p.idxMu.Lock()
	defer p.idxMu.Unlock()
	for _, ix := range p.indexes {
		if ix.def.Name == def.Name {
			return nil
		}
	}
	info, err := newIndexInfo(p.table, def)
	if err != nil {
		return err
	}
	p.indexes = append(p.indexes, info)
	p.table.Indexes = append(p.table.Indexes, def)
	for s := range p.shards {
		sh := &p.shards[s]
		sh.mu.Lock()
		sh.keys = append(sh.keys, map[string]*keyList{})
		sh.mu.Unlock()
	}
	p.backfillLocked(len(p.indexes) - 1)
	return nil
}

// backfillLocked inserts every row of the first index into index i; the
// caller holds idxMu exclusively.
func (p *Partition) backfillLocked(i int) {
	type item struct {
		data []byte
		r    ref
		ts   int64
		key  string
	}
	var items []item
	for s := range p.shards {
		for _, kl := range p.shards[s].keys[0] {
			for _, e := range kl.entries {
				data := p.arena.get(e.ref)
				values, err := codec.Decode(p.table.Columns, data)
				if err != nil {
					continue
				}
				ts, err := p.tsOf(i, values, e.ts)
				if err != nil {
					continue // NULL ts: the row cannot be in this index
				}
				items = append(items, item{data: data, r: e.ref, ts: ts, key: p.KeyOf(i, values)})
			}
		}
	}
	sort.Slice(items, func(a, b int) bool {
		if items[a].ts != items[b].ts {
			return items[a].ts < items[b].ts
		}
		return string(items[a].data) < string(items[b].data)
	})
	for _, it := range items {
		p.arena.addRef(it.r)
		p.insert(i, it.key, entry{ts: it.ts, ref: it.r})
	}
}

func shardOf(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % numShards)
}

// IndexPos returns the position of the named index ("" = the first).
func (p *Partition) IndexPos(name string) (int, error) {
	p.idxMu.RLock()
	defer p.idxMu.RUnlock()
	return p.indexPos(name)
}

func (p *Partition) indexPos(name string) (int, error) {
	if name == "" {
		return 0, nil
	}
	for i, ix := range p.indexes {
		if ix.def.Name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: %s", ErrNoIndex, name)
}

// KeyOf returns the index key of decoded values for index i.
func (p *Partition) KeyOf(i int, values []any) string {
	ix := p.indexes[i]
	if len(ix.keyCols) == 1 {
		return codec.KeyText(values[ix.keyCols[0]])
	}
	parts := make([]string, len(ix.keyCols))
	for j, c := range ix.keyCols {
		parts[j] = codec.KeyText(values[c])
	}
	return codec.JoinKey(parts)
}

// tsOf returns the ordering timestamp of a row for index i.
func (p *Partition) tsOf(i int, values []any, insertTS int64) (int64, error) {
	c := p.indexes[i].tsCol
	if c < 0 {
		return insertTS, nil
	}
	ts, ok := values[c].(int64)
	if !ok {
		return 0, fmt.Errorf("%w: ts column %s of index %s is null", schema.ErrInvalid, p.indexes[i].def.TS, p.indexes[i].def.Name)
	}
	return ts, nil
}

// Put stores an encoded row. insertTS orders rows in indexes without a TS
// column; it is chosen by the leader so every replica stores the same.
// Put must be deterministic: it is applied by every replica from the log.
func (p *Partition) Put(row []byte, insertTS int64) error {
	p.idxMu.RLock()
	defer p.idxMu.RUnlock()
	values, err := codec.Decode(p.table.Columns, row)
	if err != nil {
		return err
	}
	keys := make([]string, len(p.indexes))
	tss := make([]int64, len(p.indexes))
	for i := range p.indexes {
		keys[i] = p.KeyOf(i, values)
		if tss[i], err = p.tsOf(i, values, insertTS); err != nil {
			return err
		}
	}
	r := p.arena.add(row, len(p.indexes))
	for i := range p.indexes {
		p.insert(i, keys[i], entry{ts: tss[i], ref: r})
	}
	return nil
}

func (p *Partition) insert(i int, key string, e entry) {
	sh := &p.shards[shardOf(key)]
	sh.mu.Lock()
	kl := sh.keys[i][key]
	if kl == nil {
		kl = &keyList{}
		sh.keys[i][key] = kl
		p.keys.Add(1)
	}
	n := len(kl.entries)
	if n == 0 || kl.entries[n-1].ts <= e.ts {
		kl.entries = append(kl.entries, e)
	} else {
		pos := sort.Search(n, func(j int) bool { return kl.entries[j].ts > e.ts })
		kl.entries = append(kl.entries, entry{})
		copy(kl.entries[pos+1:], kl.entries[pos:])
		kl.entries[pos] = e
	}
	p.entries.Add(1)
	if i == 0 {
		p.rows.Add(1)
	}
	// The latest-N part of the TTL is a function of the data alone, so it
	// is applied here, identically on every replica.
	def := p.indexes[i].def
	if (def.TTLType == schema.TTLLatest || def.TTLType == schema.TTLAbsOrLat) && def.LatTTL > 0 {
		if extra := len(kl.entries) - int(def.LatTTL); extra > 0 {
			p.dropFront(i, kl, extra)
		}
	}
	sh.mu.Unlock()
}

// dropFront removes the n oldest entries; the shard lock is held.
func (p *Partition) dropFront(i int, kl *keyList, n int) {
	for _, e := range kl.entries[:n] {
		p.arena.unref(e.ref)
	}
	kl.entries = kl.entries[n:]
	// Give back the array when most of it is behind us.
	if cap(kl.entries) > 64 && len(kl.entries) < cap(kl.entries)/4 {
		kl.entries = append([]entry(nil), kl.entries...)
	}
	p.entries.Add(-int64(n))
	if i == 0 {
		p.rows.Add(-int64(n))
	}
}

// expiresWithTime reports whether rows of the index can expire as time
// passes. The latest-N part of a TTL is enforced on insert, so an index
// whose rows expire only by count needs no GC scan: without this check a
// GC pass walked every key of such tables, holding each shard's lock while
// it did (bench/suite measured a quarter of a tablet's CPU in GC at
// --gc_interval=1s, and 1 s write stalls beside it).
func expiresWithTime(def schema.Index) bool {
	if def.AbsTTL == 0 {
		return false
	}
	switch def.TTLType {
	case schema.TTLAbsolute, schema.TTLAbsOrLat:
		return true
	case schema.TTLAbsAndLat:
		return def.LatTTL > 0
	}
	return false
}

// expired reports whether an entry is past the index's TTL at now (ms).
// cnt is the entry's position from the newest (0 = newest).
func expired(def schema.Index, ts int64, cnt int, nowMs int64) bool {
	absExp := def.AbsTTL > 0 && ts < nowMs-def.AbsTTL.Milliseconds()
	latExp := def.LatTTL > 0 && uint64(cnt) >= def.LatTTL
	switch def.TTLType {
	case schema.TTLAbsolute:
		return absExp
	case schema.TTLLatest:
		return latExp
	case schema.TTLAbsOrLat:
		return absExp || latExp
	case schema.TTLAbsAndLat:
		// OpenMLDB: with both set, a row expires only when both say so; a
		// zero part means that part never expires.
		if def.AbsTTL == 0 || def.LatTTL == 0 {
			return false
		}
		return absExp && latExp
	}
	return false
}

// Row is one stored row.
type Row struct {
	TS   int64
	Data []byte // encoded; a copy, safe to keep
}

// ScanOptions select rows of one key: ts in (To, From], newest first.
// From 0 means no upper bound, To 0 no lower bound; Limit 0 means all.
// AtTS, when set, returns only rows with exactly that ts.
type ScanOptions struct {
	Index string
	From  int64
	To    int64
	Limit int
	AtTS  int64
}

// Scan returns the key's rows matching opts, skipping expired ones.
func (p *Partition) Scan(key string, opts ScanOptions, now time.Time) ([]Row, error) {
	var out []Row
	err := p.ScanFunc(key, opts, now, func(ts int64, data []byte) bool {
		out = append(out, Row{TS: ts, Data: append([]byte(nil), data...)})
		return true
	})
	return out, err
}

// ScanFunc calls fn with each of the key's rows matching opts, newest
// first, until fn returns false. data is only valid during the call (it is
// the stored copy, read under the shard's read lock): fn must not keep it
// and must not write to the partition.
func (p *Partition) ScanFunc(key string, opts ScanOptions, now time.Time, fn func(ts int64, data []byte) bool) error {
	p.idxMu.RLock()
	defer p.idxMu.RUnlock()
	i, err := p.indexPos(opts.Index)
	if err != nil {
		return err
	}
	def := p.indexes[i].def
	nowMs := now.UnixMilli()
	sh := &p.shards[shardOf(key)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	kl := sh.keys[i][key]
	if kl == nil {
		return nil
	}
	n := 0
	for j, cnt := len(kl.entries)-1, 0; j >= 0; j, cnt = j-1, cnt+1 {
		e := kl.entries[j]
		if expired(def, e.ts, cnt, nowMs) {
			break // older entries are expired too
		}
		if opts.AtTS != 0 {
			if e.ts > opts.AtTS {
				continue
			}
			if e.ts < opts.AtTS {
				break
			}
		}
		if opts.From != 0 && e.ts > opts.From {
			continue
		}
		if opts.To != 0 && e.ts <= opts.To {
			break
		}
		if !fn(e.ts, p.arena.get(e.ref)) {
			break
		}
		n++
		if opts.Limit > 0 && n >= opts.Limit {
			break
		}
	}
	return nil
}

// Get returns the newest row of key (at AtTS if set), or ok=false.
func (p *Partition) Get(key string, opts ScanOptions, now time.Time) (Row, bool, error) {
	opts.Limit = 1
	rows, err := p.Scan(key, opts, now)
	if err != nil || len(rows) == 0 {
		return Row{}, false, err
	}
	return rows[0], true, nil
}

// Count returns the number of live rows of key.
func (p *Partition) Count(key string, index string, now time.Time) (int, error) {
	rows, err := p.Scan(key, ScanOptions{Index: index}, now)
	return len(rows), err
}

// Delete removes every row of key in the named index from all indexes.
func (p *Partition) Delete(index, key string) (int, error) {
	p.idxMu.RLock()
	defer p.idxMu.RUnlock()
	i, err := p.indexPos(index)
	if err != nil {
		return 0, err
	}
	sh := &p.shards[shardOf(key)]
	sh.mu.Lock()
	kl := sh.keys[i][key]
	var victims []entry
	var datas [][]byte
	if kl != nil {
		victims = kl.entries
		for _, e := range victims {
			datas = append(datas, append([]byte(nil), p.arena.get(e.ref)...))
		}
		delete(sh.keys[i], key)
		p.keys.Add(-1)
		p.entries.Add(-int64(len(victims)))
		if i == 0 {
			p.rows.Add(-int64(len(victims)))
		}
	}
	sh.mu.Unlock()
	for k, e := range victims {
		for j := range p.indexes {
			if j == i {
				continue
			}
			values, err := codec.Decode(p.table.Columns, datas[k])
			if err != nil {
				continue
			}
			p.removeEntry(j, p.KeyOf(j, values), e.ref)
		}
		p.arena.unref(e.ref)
	}
	return len(victims), nil
}

func (p *Partition) removeEntry(i int, key string, r ref) {
	sh := &p.shards[shardOf(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	kl := sh.keys[i][key]
	if kl == nil {
		return
	}
	for j, e := range kl.entries {
		if e.ref == r {
			kl.entries = append(kl.entries[:j], kl.entries[j+1:]...)
			p.entries.Add(-1)
			if i == 0 {
				p.rows.Add(-1)
			}
			p.arena.unref(r)
			break
		}
	}
	if len(kl.entries) == 0 {
		delete(sh.keys[i], key)
		p.keys.Add(-1)
	}
}

// GC drops expired entries, one shard at a time so writers wait at most
// for one shard's sweep. It returns the number of entries removed.
func (p *Partition) GC(now time.Time) int {
	p.idxMu.RLock()
	defer p.idxMu.RUnlock()
	nowMs := now.UnixMilli()
	removed := 0
	for s := range p.shards {
		sh := &p.shards[s]
		sh.mu.Lock()
		for i, ix := range p.indexes {
			def := ix.def
			if !expiresWithTime(def) {
				// latest-N alone is enforced on insert: nothing to find
				continue
			}
			for key, kl := range sh.keys[i] {
				n := len(kl.entries)
				// Find the newest expired entry; everything older goes too.
				cut := 0
				for j, cnt := n-1, 0; j >= 0; j, cnt = j-1, cnt+1 {
					if expired(def, kl.entries[j].ts, cnt, nowMs) {
						cut = j + 1
						break
					}
				}
				if cut > 0 {
					p.dropFront(i, kl, cut)
					removed += cut
				}
				if len(kl.entries) == 0 {
					delete(sh.keys[i], key)
					p.keys.Add(-1)
				}
			}
		}
		sh.mu.Unlock()
	}
	return removed
}

// Stats is the partition's accounting.
type Stats struct {
	Rows        int64 // entries in the first index
	Keys        int64 // keys over all indexes
	MemoryBytes int64 // arena slabs + index entries + key overhead (estimate)
}

// Stats returns the partition's current accounting.
func (p *Partition) Stats() Stats {
	const perEntry, perKey = 16, 96 // entry struct; map slot + keyList + string header, estimated
	return Stats{
		Rows:        p.rows.Load(),
		Keys:        p.keys.Load(),
		MemoryBytes: p.arena.bytes.Load() + p.entries.Load()*perEntry + p.keys.Load()*perKey,
	}
}

// Keys returns every key of index i, sorted.
func (p *Partition) Keys(i int) []string {
	p.idxMu.RLock()
	defer p.idxMu.RUnlock()
	var out []string
	for s := range p.shards {
		sh := &p.shards[s]
		sh.mu.RLock()
		for k := range sh.keys[i] {
			out = append(out, k)
		}
		sh.mu.RUnlock()
	}
	sort.Strings(out)
	return out
}

// Traverse returns the live rows of the keys of the first index that sort
// after afterKey, whole keys at a time, stopping once at least limit rows
// are collected. lastKey is the last key returned; done says no key follows.
// Every row is in the first index exactly once, so paging visits each row once.
// resume says afterKey is meaningful (the empty string is a valid key).
func (p *Partition) Traverse(afterKey string, resume bool, limit int, now time.Time) (rows []Row, lastKey string, done bool) {
	if limit <= 0 {
		limit = 1000
	}
	keys := p.Keys(0)
	i := sort.SearchStrings(keys, afterKey)
	if i < len(keys) && keys[i] == afterKey {
		i++
	}
	if !resume {
		i = 0
	}
	for ; i < len(keys); i++ {
		if len(rows) >= limit {
			return rows, lastKey, false
		}
		got, err := p.Scan(keys[i], ScanOptions{}, now)
		if err != nil {
			continue
		}
		rows = append(rows, got...)
		lastKey = keys[i]
	}
	return rows, lastKey, true
}
