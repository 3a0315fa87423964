package replication

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/lni/dragonboat/v4"
	dbconfig "github.com/lni/dragonboat/v4/config"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The step-worker and log-shard counts are part of a tablet's on-disk
// format: this pins them, and shows why by opening a Raft directory made
// by NewHost with other counts, which dragonboat refuses.
func TestOnDiskCountsArePinned(t *testing.T) {
	if StepWorkers != 2 || LogShards != 2 {
		t.Fatalf("StepWorkers=%d LogShards=%d: tablets of earlier releases were written with 2 and 2; "+
			"a binary with other values cannot open their data (rolling upgrade breaks)", StepWorkers, LogShards)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	h, err := NewHost(Config{Dir: dir, RaftAddress: addr})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	for _, change := range []struct {
		name string
		edit func(*dbconfig.NodeHostConfig)
	}{
		{"log shards", func(c *dbconfig.NodeHostConfig) { c.Expert.LogDB.Shards = LogShards + 1 }},
		{"step workers", func(c *dbconfig.NodeHostConfig) { c.Expert.Engine.ExecShards = StepWorkers + 1 }},
	} {
		nhc := dbconfig.NodeHostConfig{
			NodeHostDir: filepath.Join(dir, "nodehost"), WALDir: filepath.Join(dir, "wal"),
			RTTMillisecond: 50, RaftAddress: addr,
		}
		nhc.Expert.LogDB = dbconfig.GetSmallMemLogDBConfig()
		nhc.Expert.LogDB.Shards = LogShards
		nhc.Expert.Engine = dbconfig.GetDefaultEngineConfig()
		nhc.Expert.Engine.ExecShards = StepWorkers
		nhc.Expert.Engine.ApplyShards, nhc.Expert.Engine.CommitShards = 2, 2
		change.edit(&nhc)
		nh, err := dragonboat.NewNodeHost(nhc)
		if err == nil {
			nh.Close()
			t.Fatalf("changed %s: dragonboat opened the old directory; the pin may be relaxed", change.name)
		}
		t.Logf("changed %s: refused: %v", change.name, err)
	}
}
