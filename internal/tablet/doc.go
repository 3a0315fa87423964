// Package tablet owns a tablet server: its registration in etcd (a leased
// key under <root>/nodes/ kept alive while the process runs and removed on
// shutdown), its data directory under --db_root_path, and (in later work)
// the partition replicas it stores. It never decides placement: that is the
// nameserver's job.
package tablet
