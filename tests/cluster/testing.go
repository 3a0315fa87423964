package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var buildRoot string

// Main wraps TestMain: one temporary directory per test process holds the
// release builds, so each version is built once.
func Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "openmldb-releases-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	buildRoot = dir
	// go test has just written this binary; write it back now rather than
	// in the middle of a test's measurements (see syncTree).
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			_ = f.Sync()
			_ = f.Close()
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	return code
}

// Release builds (once) and returns the release directory for version.
func Release(t testing.TB, version string) string {
	t.Helper()
	if buildRoot == "" {
		t.Fatal("cluster.Main must run from TestMain")
	}
	dir, err := BuildRelease(buildRoot, version)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// NodeDirs returns where a test that measures write stalls lays out its
// node directories, and where their data goes. On this rig every node
// shares one disk, so copying a node's bin/ (30 MB a copy, written back by
// the kernel up to 30 s later) stalls the Raft-log fsyncs of every tablet,
// which on real machines it would only do on that node's own disk. So the
// node directories (binaries, conf, logs) go to RAM (/dev/shm) when it has
// room, and everything the servers store stays on disk in data.
func NodeDirs(t testing.TB) (nodes, data string) {
	t.Helper()
	data = t.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil || st.Bavail*uint64(st.Bsize) < 4<<30 {
		return filepath.Join(data, "nodes"), filepath.Join(data, "data")
	}
	dir, err := os.MkdirTemp("/dev/shm", "openmldb-nodes-")
	if err != nil {
		return filepath.Join(data, "nodes"), filepath.Join(data, "data")
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir, data
}

// New lays out a cluster from the release of version in a temp dir and
// stops it when the test ends, printing the nodes' log tails if it failed.
// It does not start anything.
func New(t testing.TB, version string, o Options) *Cluster {
	t.Helper()
	c, err := Layout(t.TempDir(), Release(t, version), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.StopAll(); err != nil {
			t.Logf("stopping cluster: %v", err)
		}
		if t.Failed() {
			c.DumpLogs(t)
		}
	})
	return c
}

// Start is New followed by StartAll.
func Start(t testing.TB, version string, o Options) *Cluster {
	t.Helper()
	c := New(t, version, o)
	if err := c.StartAll(false); err != nil {
		t.Fatal(err)
	}
	return c
}

// DumpLogs prints the last lines of every node's log files.
func (c *Cluster) DumpLogs(t testing.TB) {
	for _, n := range c.All() {
		files, _ := filepath.Glob(filepath.Join(n.Dir, "logs", "*"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			if len(lines) > 30 {
				lines = lines[len(lines)-30:]
			}
			t.Logf("==== %s/%s ====\n%s", n.Name, filepath.Base(f), strings.Join(lines, "\n"))
		}
	}
}

// Eventually polls cond until it returns nil or timeout passes, and returns
// how long it took.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var last error
	for time.Since(start) < timeout {
		if last = cond(); last == nil {
			return time.Since(start)
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s: not true after %s: %v", what, timeout, last)
	return 0
}

// Ctx is a context bounded for one command.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ParseTable parses ns_client table output (header, dashed line, rows)
// into one map per row, keyed by the header's column names.
func ParseTable(out string) ([]map[string]string, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "---") {
			continue
		}
		header := strings.Fields(lines[i])
		var rows []map[string]string
		for _, l := range lines[i+2:] {
			if strings.TrimSpace(l) == "" {
				break // notes may follow the table after a blank line
			}
			f := strings.Fields(l)
			if len(f) != len(header) {
				return nil, fmt.Errorf("row %q has %d cells, header has %d", l, len(f), len(header))
			}
			row := map[string]string{}
			for j, h := range header {
				row[h] = f[j]
			}
			rows = append(rows, row)
		}
		return rows, nil
	}
	return nil, fmt.Errorf("no table in output:\n%s", out)
}

// ParseBorderedTable parses the first table sql_client printed (a dashed
// border, the header, a border, rows, a border); cells are cut at the
// border's column positions, so they may contain spaces.
func ParseBorderedTable(out string) ([]map[string]string, error) {
	lines := strings.Split(out, "\n")
	isBorder := func(l string) bool {
		t := strings.TrimSpace(l)
		return t != "" && strings.Trim(t, "- ") == ""
	}
	for i := 0; i+2 < len(lines); i++ {
		if !isBorder(lines[i]) || !isBorder(lines[i+2]) {
			continue
		}
		border := lines[i]
		var cols [][2]int // [start, end) of each dash run
		for j := 0; j < len(border); j++ {
			if border[j] == '-' && (j == 0 || border[j-1] != '-') {
				k := j
				for k < len(border) && border[k] == '-' {
					k++
				}
				cols = append(cols, [2]int{j, k})
			}
		}
		cut := func(l string) []string {
			cells := make([]string, len(cols))
			for c, r := range cols {
				if r[0] < len(l) {
					cells[c] = strings.TrimSpace(l[r[0]:min(r[1], len(l))])
				}
			}
			return cells
		}
		header := cut(lines[i+1])
		var rows []map[string]string
		for _, l := range lines[i+3:] {
			if isBorder(l) || strings.TrimSpace(l) == "" {
				break
			}
			row := map[string]string{}
			for c, v := range cut(l) {
				row[header[c]] = v
			}
			rows = append(rows, row)
		}
		return rows, nil
	}
	return nil, fmt.Errorf("no bordered table in output:\n%s", out)
}
