package coord

import (
	"fmt"
	"time"

	"github.com/openmldb-go/openmldb/schema"
)

// Catalog keys (under the root):
//
//	db/<name>                  a database (value: DatabaseMeta JSON)
//	table_data/<db>/<name>     a table (TableMeta JSON)
//	table_index                the last table id handed out
//	pstatus/<tid>/<pid>/<ep>   a replica's observed state, leased by its tablet

// Database is the key of a database.
func (k Keys) Database(name string) string { return k.join("db", name) }

// DatabasePrefix lists databases.
func (k Keys) DatabasePrefix() string { return k.join("db") + "/" }

// TablePrefix lists every table; TableDBPrefix the tables of one database.
func (k Keys) TablePrefix() string            { return k.join("table_data") + "/" }
func (k Keys) TableDBPrefix(db string) string { return k.join("table_data", db) + "/" }
func (k Keys) Table(db, name string) string   { return k.join("table_data", db, name) }
func (k Keys) TableIndex() string             { return k.join("table_index") }
func (k Keys) ReplicaStatusPrefix() string    { return k.join("pstatus") + "/" }
func (k Keys) ReplicaStatus(tid, pid uint32, ep string) string {
	return k.join("pstatus", fmt.Sprint(tid), fmt.Sprint(pid), ep)
}

// OpPrefix lists ops; Op is one op (zero-padded id, so keys sort by id).
func (k Keys) OpPrefix() string          { return k.join("op_data") + "/" }
func (k Keys) Op(id uint64) string       { return k.OpPrefix() + fmt.Sprintf("%020d", id) }
func (k Keys) OpIndex() string           { return k.join("op_index") }
func (k Keys) Config(name string) string { return k.join("config", name) }

// UpgradePlan is where pre-upgrade records what post-upgrade undoes.
func (k Keys) UpgradePlan(ep string) string { return k.join("upgrade_plan", ep) }

// UpgradePlanPrefix lists every recorded plan.
func (k Keys) UpgradePlanPrefix() string { return k.join("upgrade_plan") + "/" }

// OpsToolRunPrefix holds one leased key per ops-tool run that may have
// switched auto_failover off (OpsToolRun).
func (k Keys) OpsToolRunPrefix() string { return k.join("ops_tool", "runs") + "/" }

// OpsToolRun is one running ops tool's key; it dies with its lease.
func (k Keys) OpsToolRun(id string) string { return k.OpsToolRunPrefix() + id }

// AutoFailoverRestore, when present, says an ops-tool run switched
// auto_failover off and the last run to finish switches it back on.
func (k Keys) AutoFailoverRestore() string { return k.join("ops_tool", "auto_failover_restore") }

// DatabaseMeta is a database record.
type DatabaseMeta struct {
	Name       string    `json:"name"`
	CreateTime time.Time `json:"create_time"`
}

// TableMeta is a table's definition and placement: the intent. What the
// Raft groups really look like is reported under pstatus/.
type TableMeta struct {
	TID        uint32          `json:"tid"`
	Table      schema.Table    `json:"table"`
	Partitions []PartitionMeta `json:"partitions"`
	CreateTime time.Time       `json:"create_time"`
}

// PartitionMeta is one partition's replicas; Replicas[0] is the preferred leader.
type PartitionMeta struct {
	PID      uint32        `json:"pid"`
	Replicas []ReplicaMeta `json:"replicas"`
}

// Endpoints maps each replica's id to the tablet that holds it.
func (p PartitionMeta) Endpoints() map[uint64]string {
	m := make(map[uint64]string, len(p.Replicas))
	for _, r := range p.Replicas {
		m[r.ReplicaID] = r.Endpoint
	}
	return m
}

// ReplicaMeta is one replica's placement.
type ReplicaMeta struct {
	Endpoint     string `json:"endpoint"`
	RaftEndpoint string `json:"raft_endpoint"`
	ReplicaID    uint64 `json:"replica_id"`
	// Joined: added to a running group (start with join); NonVoting: a
	// learner still catching up, promoted to voter by its op.
	Joined    bool `json:"joined,omitempty"`
	NonVoting bool `json:"non_voting,omitempty"`
	// Offline: marked not alive (offlineendpoint, updatetablealive, or
	// auto_failover after the tablet's heartbeat timeout).
	Offline bool `json:"offline,omitempty"`
}

// ReplicaStatus is what a tablet reports about one of its replicas.
type ReplicaStatus struct {
	Endpoint        string    `json:"endpoint"`
	IsLeader        bool      `json:"is_leader"`
	LeaderReplicaID uint64    `json:"leader_replica_id"`
	Term            uint64    `json:"term"`
	Offset          uint64    `json:"offset"`
	Rows            int64     `json:"rows"`
	MemoryBytes     int64     `json:"memory_bytes"`
	UpdatedAt       time.Time `json:"updated_at"`
}
