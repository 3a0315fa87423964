package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlagfileOrderCommentsAndNesting(t *testing.T) {
	inner := writeFile(t, "inner.flags", "# inner\n--zk_root_path=/inner\n")
	outer := writeFile(t, "outer.flags", "# a comment\n\n--role=tablet\n  --endpoint=127.0.0.1:7000  \n--flagfile="+inner+"\n--zk_session_timeout=3500\n")
	c, err := Parse([]string{"--flagfile=" + outer, "--endpoint=127.0.0.1:8000"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != "tablet" || c.Endpoint != "127.0.0.1:8000" || c.ZkRootPath != "/inner" {
		t.Fatalf("got role=%s endpoint=%s root=%s", c.Role, c.Endpoint, c.ZkRootPath)
	}
	if c.ZkSessionTimeout != 3500*time.Millisecond {
		t.Fatalf("session timeout %s", c.ZkSessionTimeout)
	}
	// A flag before the flagfile is overridden by the file.
	c, err = Parse([]string{"--endpoint=127.0.0.1:8000", "--flagfile", outer})
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != "127.0.0.1:7000" {
		t.Fatalf("flagfile did not override an earlier flag: %s", c.Endpoint)
	}
}

func TestRoleDefaults(t *testing.T) {
	for role, want := range DefaultEndpoints {
		c, err := Parse([]string{"--role=" + role})
		if err != nil {
			t.Fatal(err)
		}
		if c.Endpoint != want || c.IsSet("endpoint") {
			t.Errorf("%s: endpoint %s set=%v", role, c.Endpoint, c.IsSet("endpoint"))
		}
	}
}

func TestSnapshotSyncBytes(t *testing.T) {
	for args, want := range map[string]int64{"": DefaultSnapshotSyncBytes, "--snapshot_sync_bytes=0": 0, "--snapshot_sync_bytes=4194304": 4 << 20} {
		argv := []string{"--role=tablet"}
		if args != "" {
			argv = append(argv, args)
		}
		c, err := Parse(argv)
		if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		if c.SnapshotSyncBytes != want {
			t.Errorf("%v: SnapshotSyncBytes %d, want %d", argv, c.SnapshotSyncBytes, want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	loop := filepath.Join(t.TempDir(), "loop.flags")
	if err := os.WriteFile(loop, []byte("--flagfile="+loop+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args []string
		want string
	}{
		"no role":                {nil, "--role is required"},
		"unknown role":           {[]string{"--role=x"}, "unknown role"},
		"unknown flag":           {[]string{"--role=tablet", "--x=1"}, "unknown flag --x"},
		"bad bool":               {[]string{"--role=tablet", "--auto_failover=maybe"}, "auto_failover"},
		"bad int":                {[]string{"--role=tablet", "--zk_session_timeout=abc"}, "zk_session_timeout"},
		"nonpositive":            {[]string{"--role=tablet", "--zk_session_timeout=0"}, "must be positive"},
		"flagfile loop":          {[]string{"--flagfile=" + loop}, "nested more than"},
		"flagfile arg":           {[]string{"--flagfile"}, "needs a file name"},
		"root path":              {[]string{"--role=tablet", "--zk_root_path=openmldb"}, "must start with /"},
		"root slash":             {[]string{"--role=tablet", "--zk_root_path=/a/"}, "not end with /"},
		"empty zk":               {[]string{"--role=tablet", "--zk_cluster=,"}, "at least one"},
		"raft=endpoint":          {[]string{"--role=tablet", "--raft_endpoint=127.0.0.1:10921"}, "must differ"},
		"negative bandwidth":     {[]string{"--role=tablet", "--stream_bandwidth_limit=-1"}, "stream_bandwidth_limit"},
		"bad bandwidth":          {[]string{"--role=tablet", "--stream_bandwidth_limit=32MB"}, "stream_bandwidth_limit"},
		"negative snapshot sync": {[]string{"--role=tablet", "--snapshot_sync_bytes=-1"}, "snapshot_sync_bytes"},
		"bad snapshot sync":      {[]string{"--role=tablet", "--snapshot_sync_bytes=1MiB"}, "snapshot_sync_bytes"},
		"negative slow write":    {[]string{"--role=tablet", "--slow_write_threshold=-1s"}, "slow_write_threshold"},
		"bad slow write":         {[]string{"--role=tablet", "--slow_write_threshold=200"}, "slow_write_threshold"},
		"mon no command":         {[]string{"--role=mon"}, "needs the command"},
		"dup member":             {[]string{"--role=coord", "--initial_cluster=a=127.0.0.1:1,a=127.0.0.1:2"}, "appears twice"},
		"bad level":              {[]string{"--role=tablet", "--log_level=loud"}, "--log_level"},
	}
	for name, tc := range cases {
		_, err := Parse(tc.args)
		if err == nil || !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err=%v, want usage error containing %q", name, err, tc.want)
		}
	}
}

func TestMonKeepsChildArgs(t *testing.T) {
	c, err := Parse([]string{"--role=mon", "--child_pid_file=x", "--", "bin/openmldb", "--flagfile=conf/tablet.flags"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Args, " ") != "bin/openmldb --flagfile=conf/tablet.flags" {
		t.Fatalf("args %q", c.Args)
	}
}

func TestParseInitialCluster(t *testing.T) {
	m, err := ParseInitialCluster("a=127.0.0.1:2380, b=http://127.0.0.1:2382")
	if err != nil || len(m) != 2 || m[1] != [2]string{"b", "127.0.0.1:2382"} {
		t.Fatalf("%v %v", m, err)
	}
}
