package replication

import (
	"errors"
	"testing"
)

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

func TestKeepsUpWithout(t *testing.T) {
	members := map[uint64]string{1: "leader:1", 2: "a:1", 3: "temp:1", 4: "learner:1"}
	voters := map[uint64]string{1: "r1", 2: "r2", 3: "r3"} // 4 is not a voter
	progress := map[string]ReplicaProgress{
		"leader:1": {Voters: voters, Applied: 3231},
		"a:1":      {Applied: 3207},
		"temp:1":   {Applied: 3231},
	}
	var asked []string
	ask := func(ep string) (ReplicaProgress, error) {
		asked = append(asked, ep)
		p, ok := progress[ep]
		if !ok {
			return ReplicaProgress{}, errors.New("no answer")
		}
		return p, nil
	}
	ok, leaderApplied, applied, err := KeepsUpWithout(members, "leader:1", 3, ask)
	if err != nil || ok || leaderApplied != 3231 || applied[2] != 3207 {
		t.Fatalf("lagging peer: ok=%v leader=%d applied=%v err=%v", ok, leaderApplied, applied, err)
	}
	for _, ep := range asked {
		if ep == "temp:1" || ep == "learner:1" {
			t.Fatalf("asked %s (the replica taken away, or not a voter)", ep)
		}
	}
	progress["a:1"] = ReplicaProgress{Applied: 3230}
	if ok, _, _, err := KeepsUpWithout(members, "leader:1", 3, ask); err != nil || !ok {
		t.Fatalf("caught-up peer: ok=%v err=%v", ok, err)
	}
	if _, _, _, err := KeepsUpWithout(members, "gone:1", 3, ask); err == nil {
		t.Fatal("an unreachable leader must be an error")
	}
}
