package tests

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

// cpuTaken is the CPU time each process of a test has used so far: every
// node's component, this test process (its writers and SDK) and the
// children it waited for (the ops tool, python included). The write-gap
// figures are read against it: on a machine whose cores are all busy, any
// extra work shows up as longer writes.
type cpuTaken struct {
	at    time.Time
	names []string
	used  map[string]time.Duration
}

func takeCPU(c *cluster.Cluster) cpuTaken {
	ct := cpuTaken{at: time.Now(), used: map[string]time.Duration{}}
	var nodes []*cluster.Node
	for _, group := range [][]*cluster.Node{c.Coords, c.Nameservers, c.Tablets, c.APIServers} {
		nodes = append(nodes, group...)
	}
	for _, n := range nodes {
		if pid, err := n.Pid(); err == nil {
			if self, _, err := procCPU(pid); err == nil {
				ct.names = append(ct.names, n.Name)
				ct.used[n.Name] = self
			}
		}
	}
	if self, children, err := procCPU(os.Getpid()); err == nil {
		ct.names = append(ct.names, "test", "ops tool")
		ct.used["test"], ct.used["ops tool"] = self, children
	}
	return ct
}

// since formats the CPU used between before and ct, in % of one core.
func (ct cpuTaken) since(before cpuTaken) string {
	wall := ct.at.Sub(before.at)
	var b strings.Builder
	total := 0.0
	for _, n := range ct.names {
		prev, ok := before.used[n]
		if !ok {
			continue // restarted or new: not comparable
		}
		pct := 100 * float64(ct.used[n]-prev) / float64(wall)
		total += pct
		fmt.Fprintf(&b, "%s %.0f%%, ", n, pct)
	}
	fmt.Fprintf(&b, "in all %.0f%% of one core over %s", total, wall.Round(100*time.Millisecond))
	return b.String()
}

// procCPU reads a process's user+system time, and that of its waited-for
// children, from /proc/<pid>/stat.
func procCPU(pid int) (self, children time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	// Fields after "pid (comm) ": state is [0]; utime, stime, cutime,
	// cstime are fields 14-17 of proc(5), here [11]-[14].
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks [4]int64
	for k := range ticks {
		if ticks[k], err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
	}
	// USER_HZ is 100 on every Linux build this runs on (getconf CLK_TCK).
	const tick = 10 * time.Millisecond
	return time.Duration(ticks[0]+ticks[1]) * tick, time.Duration(ticks[2]+ticks[3]) * tick, nil
}
