package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// workload is one of W1–W4 and W6 (W5 runs on its own: see ttlRun).
type workload struct {
	id, title string
	prepare   func(ctx context.Context, s *system) error
	op        func(s *system) opFunc
}

// tsClock hands out strictly increasing millisecond timestamps starting at
// now, so every insert is a new row of its key.
type tsClock struct{ last atomic.Int64 }

func (c *tsClock) next() int64 {
	for {
		now, last := time.Now().UnixMilli(), c.last.Load()
		if now <= last {
			now = last + 1
		}
		if c.last.CompareAndSwap(last, now) {
			return now
		}
	}
}

func (b *bench) workloads() []workload {
	return []workload{b.w1(), b.w2(), b.w3(nil), b.w4(), b.w6()}
}

// preload writes one row for each of Keys keys of ns.
func (b *bench) preload(ctx context.Context, s *system, ns string, k kind) error {
	if err := s.st.setup(ctx, ns, k, 0); err != nil {
		return err
	}
	rows := make([]row, b.p.Keys)
	now := time.Now().UnixMilli() - 1000
	for i := range rows {
		rows[i] = row{key: keyName(uint64(i)), ts: now, val: valueOf(uint64(i), b.p.ValueSize)}
	}
	return s.st.load(ctx, ns, k, rows)
}

func (b *bench) w1() workload {
	var clock tsClock
	gen := newKeyGen(b.p.Keys, b.p.Dist)
	return workload{id: "W1", title: "put only",
		prepare: func(ctx context.Context, s *system) error { return s.st.setup(ctx, "w1", kindKV, 0) },
		op: func(s *system) opFunc {
			return func(r *rand.Rand) error {
				k := gen.next(r)
				return s.st.put(context.Background(), "w1", kindKV, row{key: keyName(k), ts: clock.next(), val: valueOf(k, b.p.ValueSize)})
			}
		}}
}

func (b *bench) w2() workload {
	gen := newKeyGen(b.p.Keys, b.p.Dist)
	return workload{id: "W2", title: "latest row of a key",
		prepare: func(ctx context.Context, s *system) error { return b.preload(ctx, s, "w2", kindKV) },
		op: func(s *system) opFunc {
			return func(r *rand.Rand) error {
				return s.st.latest(context.Background(), "w2", kindKV, keyName(gen.next(r)))
			}
		}}
}

// w3 is 95% read-latest, 5% insert; onWrite (if set) sees every insert.
func (b *bench) w3(onWrite func(key string, err error)) workload {
	var clock tsClock
	gen := newKeyGen(b.p.Keys, b.p.Dist)
	return workload{id: "W3", title: "95% read latest / 5% insert",
		prepare: func(ctx context.Context, s *system) error { return b.preload(ctx, s, "w3", kindKV) },
		op: func(s *system) opFunc {
			return func(r *rand.Rand) error {
				k := keyName(gen.next(r))
				if r.IntN(100) < 5 {
					err := s.st.put(context.Background(), "w3", kindKV, row{key: k, ts: clock.next(), val: valueOf(r.Uint64(), b.p.ValueSize)})
					if onWrite != nil {
						onWrite(k, err)
					}
					return err
				}
				return s.st.latest(context.Background(), "w3", kindKV, k)
			}
		}}
}

const lastN = 100

func (b *bench) w4() workload {
	gen := newKeyGen(b.p.SeriesKeys, "uniform")
	return workload{id: "W4", title: fmt.Sprintf("last %d rows of a key", lastN),
		prepare: func(ctx context.Context, s *system) error {
			if err := s.st.setup(ctx, "w4", kindSeries, 0); err != nil {
				return err
			}
			now := time.Now().UnixMilli() - int64(b.p.SeriesRows)*1000
			var rows []row
			for k := 0; k < b.p.SeriesKeys; k++ {
				for j := 0; j < b.p.SeriesRows; j++ {
					rows = append(rows, row{key: keyName(uint64(k)), ts: now + int64(j)*1000, val: valueOf(uint64(k*b.p.SeriesRows+j), b.p.ValueSize)})
				}
			}
			return s.st.load(ctx, "w4", kindSeries, rows)
		},
		op: func(s *system) opFunc {
			want := min(lastN, b.p.SeriesRows)
			return func(r *rand.Rand) error {
				n, err := s.st.lastN(context.Background(), "w4", keyName(gen.next(r)), lastN)
				if err == nil && n != want {
					err = fmt.Errorf("got %d rows, want %d", n, want)
				}
				return err
			}
		}}
}

// featureRows are W6's stored rows: FeatureRows per key, one a minute up to now.
func (b *bench) featureRows(now int64) []row {
	r := rand.New(rand.NewPCG(3, 4))
	var rows []row
	for k := 0; k < b.p.FeatureKeys; k++ {
		for j := 0; j < b.p.FeatureRows; j++ {
			rows = append(rows, row{key: "f" + keyName(uint64(k)), ts: now - int64(b.p.FeatureRows-j)*60_000,
				v: math.Round(r.Float64()*10000) / 100, cat: fmt.Sprintf("cat%d", r.IntN(20))})
		}
	}
	return rows
}

func (b *bench) w6() workload {
	gen := newKeyGen(b.p.FeatureKeys, "uniform")
	return workload{id: "W6", title: "deployment request: 3 windows (10 s, 1 h, 1 d), 5 aggregates",
		prepare: func(ctx context.Context, s *system) error {
			if err := s.st.setup(ctx, "w6", kindFeature, 0); err != nil {
				return err
			}
			return s.st.load(ctx, "w6", kindFeature, b.featureRows(time.Now().UnixMilli()))
		},
		op: func(s *system) opFunc {
			return func(r *rand.Rand) error {
				req := row{key: "f" + keyName(gen.next(r)), ts: time.Now().UnixMilli(), v: 1.5, cat: "cat1"}
				f, err := s.st.feature(context.Background(), "w6", req)
				if err == nil && f.cnt1h < 1 {
					err = fmt.Errorf("features of %s: count over 1 h is %d, want at least the request row", req.key, f.cnt1h)
				}
				return err
			}
		}}
}
