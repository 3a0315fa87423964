package tests

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

// A tablet that lost only its Raft log store (<db_root_path>/raft/wal: the
// log and the votes of every replica; a wiped volume mounted there, an
// operator freeing space), while the rest of <db_root_path>/raft survived,
// forgot as much as a tablet with an empty disk, only less visibly. Its
// replicas must not rejoin under their old ids either: it stays up, and
// recoverdata replaces each with a new replica copied from the leader.
func TestRecoverdataAfterALostRaftLog(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3})
	cli := connectSDK(t, c)
	createTable(t, cli, "db", "t", 4, 3)
	ws := startWriters(t, cli, "db", []string{"t"}, 0, 2)
	time.Sleep(2 * time.Second)
	n := c.Tablets[2]
	oldIDs := replicaIDsOn(cli, "db", n.Endpoint)
	if len(oldIDs) != 4 {
		t.Fatalf("%s holds %d of the 4 partitions, want all", n.Endpoint, len(oldIDs))
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	wal := filepath.Join(n.Dir, "db", "raft", "wal")
	if _, err := os.Stat(wal); err != nil {
		t.Fatalf("the Raft log store is not where the test looks: %v", err)
	}
	if err := os.RemoveAll(wal); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	pid, err := n.Pid()
	if err != nil || syscall.Kill(pid, 0) != nil {
		t.Fatalf("the tablet that lost its Raft log is not running (pid %d, %v)", pid, err) // the cluster prints its log
	}
	out, err := n.Ops("--cmd=recoverdata")
	if err != nil || !strings.Contains(out, "t in db recovered") {
		t.Fatalf("recoverdata after the lost Raft log: %v\n%s", err, out)
	}
	t.Logf("recoverdata:\n%s", out)
	expectReplicasReplaced(t, cli, "db", n.Endpoint, oldIDs, 10*time.Second)
	stopAndVerifyWriters(t, c, cli, "db", ws, 2)
}
