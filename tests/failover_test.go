package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

func aliveOn(t *testing.T, c *cluster.Cluster, ep string) (alive, dead, leaders int) {
	t.Helper()
	out, err := c.NSClient(cluster.Ctx(t), "showtable", "--database=db")
	if err != nil {
		t.Fatalf("showtable: %v\n%s", err, out)
	}
	rows, _ := cluster.ParseTable(out)
	for _, r := range rows {
		if r["endpoint"] != ep {
			continue
		}
		if r["is_alive"] == "yes" {
			alive++
		} else {
			dead++
		}
		if r["role"] == "leader" {
			leaders++
		}
	}
	return
}

func TestAutoFailover(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3, ExtraFlags: map[string][]string{
		"nameserver": {"--auto_failover=true", "--tablet_heartbeat_timeout=2s", "--replica_restore_delay=1h"}}})
	cli := connectSDK(t, c)
	ctx := cluster.Ctx(t)
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db", "t", 4, 3), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	ws := startWriters(t, cli, "db", []string{"t"}, 0, 4)
	victim := c.Tablets[1]
	time.Sleep(time.Second)
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	took := cluster.Eventually(t, 30*time.Second, "victim's replicas marked not alive", func() error {
		rows, _ := showOps(t, c)
		offlined := 0
		for _, r := range rows {
			if r["op_type"] == "kOfflineReplicaOP" && r["status"] == "kDone" {
				offlined++
			}
		}
		if offlined != 4 {
			return fmt.Errorf("%d offline ops done", offlined)
		}
		return nil
	})
	t.Logf("replicas marked offline %s after kill -9 (heartbeat timeout 2s)", took.Round(time.Millisecond))
	if a, d, l := aliveOn(t, c, victim.Endpoint); a != 0 || d != 4 || l != 0 {
		t.Fatalf("victim: alive %d dead %d leaders %d", a, d, l)
	}
	if err := victim.Start(false); err != nil {
		t.Fatal(err)
	}
	cluster.Eventually(t, 60*time.Second, "victim's replicas recovered", func() error {
		if a, _, _ := aliveOn(t, c, victim.Endpoint); a != 4 {
			return fmt.Errorf("%d alive", a)
		}
		rows, _ := showOps(t, c)
		for _, r := range rows {
			if r["status"] != "kDone" {
				return fmt.Errorf("op %s %s %s", r["op_id"], r["op_type"], r["status"])
			}
		}
		return nil
	})
	ws.stopAndWait()
	t.Logf("writers: %d acknowledged, %d errors, %d retries", ws.count(), ws.errs.Load(), cli.Retries.Load())
	verifyAcked(t, cli, "db", ws, 4)
	verifyReplicasIdentical(t, c, cli, "db")
}

func TestManualFailover(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3, ExtraFlags: map[string][]string{
		"nameserver": {"--auto_failover=false", "--tablet_heartbeat_timeout=1s"}}})
	cli := connectSDK(t, c)
	ctx := cluster.Ctx(t)
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db", "t", 2, 3), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	victim := c.Tablets[0]
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if rows, _ := showOps(t, c); len(rows) != 0 {
		t.Fatalf("auto_failover off, yet ops ran: %v", rows)
	}
	// Reads and writes still work: Raft re-elected leaders among the others.
	if err := cli.Put(ctx, "db", "t", []any{"k", int64(1), "v"}); err != nil {
		t.Fatal(err)
	}
	out, err := c.NSClient(cluster.Ctx(t), "recoverendpoint "+victim.Endpoint, "--database=db")
	if err == nil {
		t.Fatalf("recoverendpoint of a dead tablet accepted:\n%s", out)
	}
	mustContain(t, out, "not a healthy tablet")
	if err := victim.Start(false); err != nil {
		t.Fatal(err)
	}
	cluster.Eventually(t, 20*time.Second, "recoverendpoint accepted", func() error {
		out, err := c.NSClient(cluster.Ctx(t), "recoverendpoint "+victim.Endpoint+" need_restore", "--database=db")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	waitOpsFinished(t, c, 60*time.Second)
	rows, _ := showOps(t, c)
	for _, r := range rows {
		if r["status"] != "kDone" {
			t.Errorf("op %s %s ended %s", r["op_id"], r["op_type"], r["status"])
		}
	}
	if a, _, _ := aliveOn(t, c, victim.Endpoint); a != 2 {
		t.Errorf("victim has %d alive replicas, want 2", a)
	}
	// offlineendpoint moves leadership off and marks replicas not alive.
	out, err = c.NSClient(cluster.Ctx(t), "offlineendpoint "+victim.Endpoint, "--database=db")
	if err != nil {
		t.Fatalf("offlineendpoint: %v\n%s", err, out)
	}
	waitOpsFinished(t, c, 60*time.Second)
	if a, d, l := aliveOn(t, c, victim.Endpoint); a != 0 || d != 2 || l != 0 {
		t.Errorf("after offlineendpoint: alive %d dead %d leaders %d", a, d, l)
	}
	out, err = c.NSClient(cluster.Ctx(t), "updatetablealive t * "+victim.Endpoint+" yes", "--database=db")
	if err != nil {
		t.Fatalf("updatetablealive: %v\n%s", err, out)
	}
	waitOpsFinished(t, c, 30*time.Second)
	if a, _, _ := aliveOn(t, c, victim.Endpoint); a != 2 {
		t.Errorf("after updatetablealive yes: %d alive", a)
	}
}
