package tablet

import (
	"testing"

	"github.com/openmldb-go/openmldb/internal/coord"
)

func TestStatusChangedWritesLeadershipAtOnceAndCountsOnTheTick(t *testing.T) {
	prev := coord.ReplicaStatus{IsLeader: true, Term: 3, LeaderReplicaID: 7, Rows: 10, Offset: 100}
	moreRows := prev
	moreRows.Rows, moreRows.Offset = 12, 102
	lostLead := moreRows
	lostLead.IsLeader, lostLead.LeaderReplicaID = false, 9
	newTerm := prev
	newTerm.Term = 4
	for _, c := range []struct {
		name           string
		cur            coord.ReplicaStatus
		leadershipOnly bool
		want           bool
	}{
		{"unchanged, tick", prev, false, false},
		{"unchanged, leader signal", prev, true, false},
		{"rows grew, tick", moreRows, false, true},
		{"rows grew, leader signal", moreRows, true, false},
		{"leader moved, leader signal", lostLead, true, true},
		{"new term, leader signal", newTerm, true, true},
		{"leader moved, tick", lostLead, false, true},
	} {
		if got := statusChanged(prev, c.cur, c.leadershipOnly); got != c.want {
			t.Errorf("%s: statusChanged = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSnapshotSyncFlagZeroTurnsTheSyncsOff(t *testing.T) {
	for flag, want := range map[int64]int64{0: -1, 1 << 20: 1 << 20, 4096: 4096} {
		if got := snapshotSyncBytes(flag); got != want {
			t.Errorf("--snapshot_sync_bytes=%d: replication gets %d, want %d", flag, got, want)
		}
	}
}
