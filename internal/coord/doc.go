// Package coord owns everything that touches etcd: the embedded etcd member
// run by --role=coord, the client connection every other role opens, and
// the layout of keys under --zk_root_path (Keys). Other packages name etcd
// keys only through Keys, so the layout lives in one place.
package coord
