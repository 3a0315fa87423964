// Package ops owns --role=ops, the operations tool behind
// tools/openmldb_ops.py: pre-upgrade, post-upgrade, recoverdata,
// showopstatus, showtablestatus, scalein and scaleout. It works through the
// nameserver's op engine and the table metadata; the pre-upgrade plan is
// stored in etcd (<root>/upgrade_plan/<endpoint>) so post-upgrade works
// from any machine and after a crash of the tool, and so is the intent to
// switch auto_failover back on (<root>/ops_tool/, autofailover.go). It
// never touches tablet data directly.
package ops
