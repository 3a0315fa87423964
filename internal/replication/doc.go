// Package replication owns Raft: one dragonboat NodeHost per tablet and one
// Raft group (shard) per partition replica, with its log and snapshots on
// disk under the tablet's data directory. It is the only package that
// imports dragonboat; the rest of the code sees Host, StateMachine and
// LeaderInfo. It knows nothing about rows or tables.
package replication
