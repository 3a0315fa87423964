package replication

import "testing"

func TestMajorityCaughtUp(t *testing.T) {
	const slack = 8
	const leader, a, b, temp = 1, 2, 3, 4
	voters := func(ids ...uint64) map[uint64]string {
		m := map[uint64]string{}
		for _, id := range ids {
			m[id] = "raft"
		}
		return m
	}
	cases := []struct {
		name    string
		voters  map[uint64]string
		victim  uint64
		applied map[uint64]uint64
		want    bool
	}{
		// The post-upgrade case: a 2-replica partition with a temporary
		// third member; the other original replica lags behind a link
		// that is still recovering.
		{"2 stay, the other lags", voters(leader, a, temp), temp, map[uint64]uint64{leader: 3231, a: 3207, temp: 3231}, false},
		{"2 stay, both caught up", voters(leader, a, temp), temp, map[uint64]uint64{leader: 3231, a: 3229, temp: 3231}, true},
		{"2 stay, the other unknown", voters(leader, a, temp), temp, map[uint64]uint64{leader: 3231}, false},
		{"3 stay, one lags", voters(leader, a, b, temp), temp, map[uint64]uint64{leader: 100, a: 99, b: 10}, true},
		{"3 stay, two lag", voters(leader, a, b, temp), temp, map[uint64]uint64{leader: 100, a: 50, b: 10}, false},
		{"only the leader stays", voters(leader, temp), temp, map[uint64]uint64{leader: 100}, true},
		{"slack is allowed", voters(leader, a, temp), temp, map[uint64]uint64{leader: 100, a: 100 - slack}, true},
		{"just past the slack", voters(leader, a, temp), temp, map[uint64]uint64{leader: 100, a: 99 - slack}, false},
	}
	for _, c := range cases {
		if got := MajorityCaughtUp(c.voters, c.victim, c.applied[leader], c.applied, slack); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
