package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

// A partition over 8 MiB is copied to a new replica from a snapshot its
// leader takes first (not by replaying its whole Raft log); a small one
// replays the log. Either way the new replica ends identical.
func TestLargePartitionCopiedBySnapshot(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 2})
	cli := connectSDK(t, c)
	ctx := cluster.Ctx(t)
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"big", "small"} {
		if err := cli.CreateTable(ctx, eventTable("db", name, 1, 1), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
			t.Fatal(err)
		}
	}
	value := strings.Repeat("x", 1000)
	put := func(table string, rows int) {
		for i := 0; i < rows; i += 500 {
			var batch [][]any
			for j := i; j < min(i+500, rows); j++ {
				batch = append(batch, []any{fmt.Sprintf("k%d", j%100), int64(j + 1), value})
			}
			if err := cli.PutBatch(ctx, "db", table, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("big", 12000) // ~12 MB of rows
	put("small", 200)

	tids := map[string]uint32{}
	for _, name := range []string{"big", "small"} {
		for _, tm := range cli.Tables("db") {
			if tm.Table.Name == name {
				tids[name] = tm.TID
			}
		}
		eps, _ := replicasOf(t, cli, name, 0)
		out, err := c.NSClient(cluster.Ctx(t), "addreplica "+name+" 0 "+notIn(c.Tablets, eps), "--database=db")
		if err != nil || !strings.Contains(out, "AddReplica ok") {
			t.Fatalf("addreplica %s: %v\n%s", name, err, out)
		}
		waitOpsFinished(t, c, 60*time.Second)
	}
	verifyReplicasIdentical(t, c, cli, "db")

	var logs strings.Builder
	for _, tb := range c.Tablets {
		b, err := os.ReadFile(filepath.Join(tb.Dir, "logs", "tablet.log"))
		if err != nil {
			t.Fatal(err)
		}
		logs.Write(b)
	}
	snapshotted := func(name string) bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "snapshot taken for a new replica") && strings.Contains(line, fmt.Sprintf(" tid=%d pid=0 ", tids[name])) {
				return true
			}
		}
		return false
	}
	if !snapshotted("big") {
		t.Errorf("the 12 MB partition was not copied from a snapshot (no \"snapshot taken for a new replica\" for tid %d in the tablets' logs)", tids["big"])
	}
	if snapshotted("small") {
		t.Errorf("the small partition was snapshotted for its copy; want it to replay the log")
	}
}
