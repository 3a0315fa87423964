// Command suite is openmldb-go's benchmark suite against the peers a user
// would pick instead: Redis (standalone, and with one replicaof replica) and
// etcd (a 3-member cluster of our own coord role, i.e. etcd 3.7). It starts
// every system on loopback, runs workloads W1–W6 with the same key and value
// generators for all, measures throughput, latency percentiles, server CPU
// per operation, memory per stored row, recovery after kill -9, leader moves
// and a rolling upgrade, writes a Markdown report with PNG charts, and stops
// everything. bench/run.sh is the entry point; see docs/benchmarks.md.
//
// It is its own Go module so that the chart and Redis client libraries do
// not become dependencies of the database.
package main
