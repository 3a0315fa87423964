package main

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"
)

// kind is what a workload's namespace holds, so each system can pick its
// natural structure: a key→value for kv and ttl, an ordered series of a
// key's rows for series and feature.
type kind int

const (
	kindKV kind = iota
	kindSeries
	kindTTL
	kindFeature
)

// row is one generated write; v and cat are the feature columns.
type row struct {
	key string
	ts  int64
	val []byte
	v   float64
	cat string
}

// store is one system's client, shared by all goroutines of a run.
type store interface {
	// setup creates the namespace (a table, a key prefix); ttl applies to kindTTL.
	setup(ctx context.Context, ns string, k kind, ttl time.Duration) error
	put(ctx context.Context, ns string, k kind, r row) error
	// load writes many rows as fast as the system takes them (not timed).
	load(ctx context.Context, ns string, k kind, rows []row) error
	// latest reads the newest row of key; a missing key is an error.
	latest(ctx context.Context, ns string, k kind, key string) error
	// lastN reads the newest n rows of key and returns how many came back.
	lastN(ctx context.Context, ns, key string, n int) (int, error)
	// feature computes the W6 features for a request row.
	feature(ctx context.Context, ns string, r row) (features, error)
	close()
}

// features are W6's outputs: the same 5 aggregates over 3 windows that
// the openmldb deployment computes.
type features struct {
	sum10s float64
	cnt1h  int64
	avg1h  float64
	max1d  float64
	cats1d int64
}

const (
	win10s = 10_000
	win1h  = 3_600_000
	win1d  = 86_400_000
)

// featuresOf computes the W6 features client-side from a key's stored rows
// (any order) plus the request row, as a user of a key-value store would.
func featuresOf(req row, stored []row) features {
	var f features
	f.max1d = math.Inf(-1)
	var sum1h float64
	cats := map[string]bool{}
	add := func(r row) {
		age := req.ts - r.ts
		if age < 0 || age > win1d {
			return
		}
		if age <= win10s {
			f.sum10s += r.v
		}
		if age <= win1h {
			f.cnt1h++
			sum1h += r.v
		}
		f.max1d = math.Max(f.max1d, r.v)
		cats[r.cat] = true
	}
	for _, r := range stored {
		add(r)
	}
	add(req)
	f.avg1h = sum1h / float64(f.cnt1h)
	f.cats1d = int64(len(cats))
	return f
}

// encodeFeatureMember and decodeFeatureMember store a feature row's columns
// as one text value in Redis and etcd: "ts|v|cat".
func encodeFeatureMember(r row) string {
	return strconv.FormatInt(r.ts, 10) + "|" + strconv.FormatFloat(r.v, 'g', -1, 64) + "|" + r.cat
}

func decodeFeatureMember(s string) (row, bool) {
	a, rest, ok := strings.Cut(s, "|")
	if !ok {
		return row{}, false
	}
	b, c, ok := strings.Cut(rest, "|")
	if !ok {
		return row{}, false
	}
	ts, err1 := strconv.ParseInt(a, 10, 64)
	v, err2 := strconv.ParseFloat(b, 64)
	return row{ts: ts, v: v, cat: c}, err1 == nil && err2 == nil
}
