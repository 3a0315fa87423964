// Package storage owns one partition's in-memory time-series store:
// encoded rows in an append-only slab arena (no pointer per row, so the Go
// GC does not scan them), and per index a map key -> entries (ts, row ref)
// kept in time order, OpenMLDB's two-level layout. It serves get latest /
// get at ts / scan / count, applies the latest-N TTL at insert and expires
// rows by a background-callable GC that locks one shard at a time, keeps
// memory accounting, and writes and reads versioned snapshots. It knows
// nothing about Raft or the network.
package storage
