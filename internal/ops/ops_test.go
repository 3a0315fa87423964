package ops

import "testing"

func TestTempNeeded(t *testing.T) {
	cases := []struct {
		voters int
		live   []string
		want   int
	}{
		{1, []string{"ep"}, 2},                // 1 replica: two more so 2 of 3 remain
		{2, []string{"ep", "b"}, 1},           // 2 replicas: one more so 2 of 3 remain
		{3, []string{"ep", "b", "c"}, 0},      // 3 replicas: 2 of 3 remain
		{3, []string{"ep", "b"}, 2},           // one already down: 5 voters, 3 live remain
		{3, []string{"b", "c"}, 0},            // ep already down
		{5, []string{"ep", "b", "c", "d"}, 0}, // 3 of 5 remain
	}
	for _, c := range cases {
		if got := tempNeeded(partView{voters: c.voters, liveVoters: c.live}, "ep"); got != c.want {
			t.Errorf("voters %d live %v: %d, want %d", c.voters, c.live, got, c.want)
		}
	}
}
