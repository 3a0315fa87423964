package coord

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NodeInfo is what a server writes under its leased key. JSON, so that
// versions N and N+1 read each other: fields are only ever added.
type NodeInfo struct {
	Endpoint     string    `json:"endpoint"`
	RaftEndpoint string    `json:"raft_endpoint,omitempty"`
	Version      string    `json:"version"`
	Commit       string    `json:"commit"`
	StartTime    time.Time `json:"start_time"`
	// SessionID changes with every process start, so a restart is visible
	// even when the lease key of the old process has not expired yet.
	SessionID string `json:"session_id"`
	// JustStarted marks a registration made by a freshly started process,
	// before anything has reconciled its replicas (OpenMLDB's "startup_"
	// marker). The nameserver clears nothing here: a new process writes it.
	JustStarted bool `json:"just_started"`
}

// Tablet states as OpenMLDB prints them.
const (
	TabletHealthy = "kHealthy"
	TabletOffline = "kOffline"
)

// TabletRecord is the leader nameserver's persistent view of one tablet.
type TabletRecord struct {
	Endpoint   string    `json:"endpoint"`
	State      string    `json:"state"`
	StateSince time.Time `json:"state_since"`
	Version    string    `json:"version"`
	StartTime  time.Time `json:"start_time"`
	SessionID  string    `json:"session_id"`
}

// NewSessionID returns a random id that tells one process start from another.
func NewSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DeploymentRecord is a stored DEPLOY: the query and what it reads and
// returns. JSON, fields only ever added.
type DeploymentRecord struct {
	DB   string `json:"db"`
	Name string `json:"name"`
	// SQL is the SELECT as written.
	SQL string `json:"sql"`
	// Table is the main table: request rows have its columns.
	Table     string             `json:"table"`
	Columns   []DeploymentColumn `json:"columns"`
	Options   map[string]string  `json:"options,omitempty"`
	CreatedMs int64              `json:"created_ms"`
}

// DeploymentColumn is one output column of a deployment; Type is a
// schema.Type value.
type DeploymentColumn struct {
	Name string `json:"name"`
	Type uint8  `json:"type"`
}
