// Package client is the Go SDK of openmldb-go. Connect with the etcd
// endpoints and root path of a cluster; the client reads table metadata and
// the replicas' observed leaders from etcd, keeps them current with
// watches, and sends each read or write to the leader of the row's
// partition. Writes that fail with a retryable error (not leader,
// unavailable, connection lost) are retried with backoff inside the
// caller's deadline, carrying the same request id, so each is applied at
// most once. Errors match ErrNotFound, ErrAlreadyExists, ErrTimeout,
// ErrUnavailable and ErrInvalidArgument with errors.Is.
package client
