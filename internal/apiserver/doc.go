// Package apiserver is --role=apiserver: OpenMLDB's REST API over HTTP/JSON
// on one endpoint (plus /status and /metrics). It is stateless: every
// request is served through the Go SDK (routing from etcd metadata) and
// internal/sql, so any number of apiservers can sit behind a load
// balancer. It registers itself under <root>/apiservers/ with a lease so
// SHOW COMPONENTS lists it with its version.
package apiserver
