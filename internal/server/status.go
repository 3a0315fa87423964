package server

import (
	"encoding/json"
	"net/http"
	"os"
	"time"

	"github.com/openmldb-go/openmldb/internal/buildinfo"
)

// Status is the JSON body of GET /status. Fields are only ever added.
type Status struct {
	Role      string    `json:"role"`
	Endpoint  string    `json:"endpoint"`
	Version   string    `json:"version"`
	Commit    string    `json:"commit"`
	State     string    `json:"state"`
	StartTime time.Time `json:"start_time"`
	Pid       int       `json:"pid"`
	// IsLeader is set by nameservers and coord members.
	IsLeader *bool `json:"is_leader,omitempty"`
	// Leader is the current nameserver leader's endpoint, when known.
	Leader string `json:"leader,omitempty"`
}

// StatusFunc fills the role-specific part of a Status.
type StatusFunc func(*Status)

// StatusHandler serves GET /status for a role.
func StatusHandler(role, endpoint string, start time.Time, fill StatusFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
			return
		}
		st := Status{
			Role: role, Endpoint: endpoint, Version: buildinfo.Version, Commit: buildinfo.Commit,
			State: "running", StartTime: start, Pid: os.Getpid(),
		}
		if fill != nil {
			fill(&st)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
}
