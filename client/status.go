package client

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// TableStatus is one row of SHOW TABLE STATUS / showtablestatus, computed
// from the table records and what the replicas report.
type TableStatus struct {
	TID              uint32
	Name, DB         string
	Rows             int64 // the leaders' row counts
	MemoryBytes      int64 // all replicas
	Partitions       int
	PartitionUnalive int // partitions with a replica that does not report
	Replicas         int
	Warnings         []string
}

// LikeToRegexp turns an SQL LIKE pattern (% and _) into an anchored regexp.
func LikeToRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// TableStatuses returns the status of every table whose database matches
// the LIKE pattern ("" or "%" for all), ordered by table id.
func (c *Client) TableStatuses(dbPattern string) []TableStatus {
	if dbPattern == "" {
		dbPattern = "%"
	}
	re := LikeToRegexp(dbPattern)
	var out []TableStatus
	for _, tm := range c.Tables("") {
		if !re.MatchString(tm.Table.DB) {
			continue
		}
		ts := TableStatus{TID: tm.TID, Name: tm.Table.Name, DB: tm.Table.DB, Partitions: len(tm.Partitions), Replicas: tm.Table.ReplicaNum}
		for _, p := range tm.Partitions {
			st := c.ReplicaStatuses(tm.TID, p.PID)
			leaders, unalive, learners := 0, false, 0
			for _, r := range p.Replicas {
				rs, ok := st[r.Endpoint]
				if !ok || r.Offline {
					unalive = true
				}
				if !ok {
					continue
				}
				ts.MemoryBytes += rs.MemoryBytes
				if rs.IsLeader {
					leaders++
					ts.Rows += rs.Rows
				} else if rs.LeaderReplicaID == 0 {
					ts.Warnings = append(ts.Warnings, "pid "+itoa(p.PID)+" on "+r.Endpoint+" is loading (no leader known)")
				}
				if r.NonVoting {
					learners++
				}
			}
			if unalive {
				ts.PartitionUnalive++
			}
			if len(p.Replicas)-learners != tm.Table.ReplicaNum {
				ts.Warnings = append(ts.Warnings, "pid "+itoa(p.PID)+" has "+itoa(uint32(len(p.Replicas)-learners))+" replicas, want "+itoa(uint32(tm.Table.ReplicaNum)))
			}
			if leaders != 1 {
				ts.Warnings = append(ts.Warnings, "pid "+itoa(p.PID)+" has "+itoa(uint32(leaders))+" leaders")
			}
		}
		out = append(out, ts)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TID < out[j].TID })
	return out
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
