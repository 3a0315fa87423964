// Package server owns what every server role shares: the logger built from
// the log flags, the single listener that carries both RPC and plain HTTP
// (/status, /metrics), the Prometheus registry, and graceful shutdown on
// SIGTERM/SIGINT. It holds no role logic: roles plug handlers and a status
// function into it.
package server
