// Package nsclient owns --role=ns_client: parsing the operator's commands
// (OpenMLDB's ns_client syntax), sending them to the leader nameserver it
// finds through etcd, and printing replies the way OpenMLDB does.
package nsclient
