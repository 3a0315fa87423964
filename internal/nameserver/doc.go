// Package nameserver owns the metadata master: leader election among
// nameservers through etcd, the leader's view of tablet membership
// (kHealthy/kOffline, persisted under <root>/tablets/), and the NameServer
// RPC service. Only the leader acts; a standby refuses every RPC with
// ErrNotLeader naming the leader. It never touches tablet data directly.
package nameserver
