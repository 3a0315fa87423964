// Package codec owns the compact binary row format (version 1) and the
// derivation of index keys and timestamps from a row. The format is stored
// in Raft logs and snapshots, so it only ever gains versions: a decoder
// must read every version written before it. Decoding malformed bytes
// returns an error, never panics.
package codec
