// Package schema is the public table model shared by the SDK, the
// nameserver, the tablets and (later) SQL: column types, indexes with their
// TTL, table options, and the rules that make a table definition valid. It
// knows nothing about storage or the wire.
package schema
