package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

type opRow = map[string]string

func showOps(t testing.TB, c *cluster.Cluster) ([]opRow, string) {
	t.Helper()
	out, err := c.NSClient(cluster.Ctx(t), "showopstatus", "--database=db")
	if err != nil {
		t.Fatalf("showopstatus: %v\n%s", err, out)
	}
	rows, err := cluster.ParseTable(out)
	if err != nil {
		t.Fatal(err)
	}
	return rows, out
}

// waitOps waits until every op is finished and returns them.
func waitOpsFinished(t testing.TB, c *cluster.Cluster, timeout time.Duration) []opRow {
	t.Helper()
	var rows []opRow
	cluster.Eventually(t, timeout, "ops finished", func() error {
		var out string
		rows, out = showOps(t, c)
		for _, r := range rows {
			if r["status"] == "kInited" || r["status"] == "kDoing" {
				return fmt.Errorf("op %s %s is %s at %s\n%s", r["op_id"], r["op_type"], r["status"], r["cur_task"], out)
			}
		}
		return nil
	})
	return rows
}

// requireOpsDone waits until every op is finished and reports each that
// did not end kDone.
func requireOpsDone(t testing.TB, c *cluster.Cluster) []opRow {
	t.Helper()
	rows := waitOpsFinished(t, c, 30*time.Second)
	for _, r := range rows {
		if r["status"] != "kDone" {
			t.Errorf("op %s %s pid %s ended %s at %s", r["op_id"], r["op_type"], r["pid"], r["status"], r["cur_task"])
		}
	}
	return rows
}

func replicasOf(t testing.TB, cli *client.Client, table string, pid uint32) (eps []string, leader string) {
	t.Helper()
	for _, tm := range cli.Tables("db") {
		if tm.Table.Name != table {
			continue
		}
		st := cli.ReplicaStatuses(tm.TID, pid)
		for _, r := range tm.Partitions[pid].Replicas {
			eps = append(eps, r.Endpoint)
			if st[r.Endpoint].IsLeader {
				leader = r.Endpoint
			}
		}
	}
	return eps, leader
}

func notIn(all []*cluster.Node, eps []string) string {
	for _, n := range all {
		found := false
		for _, e := range eps {
			found = found || e == n.Endpoint
		}
		if !found {
			return n.Endpoint
		}
	}
	return ""
}

func TestOpsUnderWrites(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 2, Tablets: 4})
	cli := connectSDK(t, c)
	ctx := cluster.Ctx(t)
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db", "t", 4, 2), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	ns := func(cmd string, wantOK bool, want string) string {
		t.Helper()
		out, err := c.NSClient(cluster.Ctx(t), cmd, "--database=db")
		if wantOK != (err == nil) || !strings.Contains(out, want) {
			t.Fatalf("%s: err=%v, want ok=%v and %q in:\n%s", cmd, err, wantOK, want, out)
		}
		return out
	}
	const writers = 4
	ws := startWriters(t, cli, "db", []string{"t"}, 0, writers)
	time.Sleep(time.Second)

	// addreplica: a third replica on a tablet without pid 0.
	eps, leader := replicasOf(t, cli, "t", 0)
	extra := notIn(c.Tablets, eps)
	ns("addreplica t 0 "+extra, true, "AddReplica ok")
	waitOpsFinished(t, c, 60*time.Second)
	cluster.Eventually(t, 10*time.Second, "3 replicas", func() error {
		if e, _ := replicasOf(t, cli, "t", 0); len(e) != 3 {
			return fmt.Errorf("replicas %v", e)
		}
		return nil
	})

	// changeleader to the new replica, then delreplica the old leader.
	ns("changeleader t 0 "+extra, true, "change leader ok")
	waitOpsFinished(t, c, 60*time.Second)
	cluster.Eventually(t, 10*time.Second, "leader moved", func() error {
		if _, l := replicasOf(t, cli, "t", 0); l != extra {
			return fmt.Errorf("leader is %s", l)
		}
		return nil
	})
	ns("delreplica t 0 "+extra, false, "is the leader") // the leader is refused
	ns("delreplica t 0 "+leader, true, "DelReplica ok")

	// migrate pid 1 (and 2) from one of their replicas to a tablet without them.
	eps1, _ := replicasOf(t, cli, "t", 1)
	dst := notIn(c.Tablets, eps1)
	ns(fmt.Sprintf("migrate %s t 1 %s", eps1[0], dst), true, "partition migrate ok")

	// Kill the leader nameserver while ops may be running: the standby resumes them.
	lead, _, err := showNS(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := nodeByEndpoint(c, lead).Kill(); err != nil {
		t.Fatal(err)
	}
	rows := waitOpsFinished(t, c, 90*time.Second)
	for _, r := range rows {
		if r["status"] != "kDone" {
			t.Errorf("op %s %s ended %s", r["op_id"], r["op_type"], r["status"])
		}
	}
	if e, _ := replicasOf(t, cli, "t", 1); len(e) != 2 || (e[0] != dst && e[1] != dst) {
		t.Errorf("after migrate pid 1 is on %v, want %s among them", e, dst)
	}
	if err := nodeByEndpoint(c, lead).Start(false); err != nil {
		t.Fatal(err)
	}

	// Refusals name the reason.
	ns("migrate "+dst+" t 1 "+dst, false, "same endpoint")
	ns("addreplica t 1 "+dst, false, "already holds")
	ns("addreplica nosuch 0 "+dst, false, "does not exist")
	ns("addreplica t 9 "+dst, false, "out of range")
	ns("addreplica t 0 127.0.0.1:1", false, "not a healthy tablet")
	ns("addreplica t x-y "+dst, false, "pid group")
	ns("confset auto_failover true", true, "set auto_failover ok")
	ns("confget auto_failover", true, "true")
	ns("changeleader t 0 auto", false, "auto_failover is enabled")
	ns("confset auto_failover false", true, "ok")
	ns("changeleader t 0 auto", true, "change leader ok")
	waitOpsFinished(t, c, 60*time.Second)
	// recovertable of a healthy replica only confirms it; cancelop of a finished op is refused.
	eps0, _ := replicasOf(t, cli, "t", 0)
	ns("recovertable t 0 "+eps0[0], true, "recover table ok")
	rows = waitOpsFinished(t, c, 60*time.Second)
	if last := rows[len(rows)-1]; last["op_type"] != "kRecoverTableOP" || last["status"] != "kDone" {
		t.Errorf("recovertable op: %v", last)
	}
	ns("cancelop "+rows[len(rows)-1]["op_id"], false, "finished")
	ns("cancelop 999999", false, "does not exist")
	ns("deleteop done", true, "Delete op ok")
	if rows, _ := showOps(t, c); len(rows) != 0 {
		t.Errorf("ops left after deleteop done: %v", rows)
	}

	time.Sleep(time.Second)
	ws.stopAndWait()
	t.Logf("writers: %d acknowledged, %d failed calls, %d retries (last error %v)", ws.count(), ws.errs.Load(), cli.Retries.Load(), ws.lastErr.Load())
	if ws.errs.Load() > 0 {
		t.Errorf("writers saw %d errors during ops", ws.errs.Load())
	}
	ctx2, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tm := range cli.Tables("db") {
		if err := cli.WaitTableReady(ctx2, "db", tm.Table.Name); err != nil {
			t.Fatal(err)
		}
	}
	verifyAcked(t, cli, "db", ws, writers)
	verifyReplicasIdentical(t, c, cli, "db")
}
