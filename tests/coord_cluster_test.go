package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

func etcdClient(t *testing.T, eps ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Three coord members on loopback form one etcd cluster that survives the
// loss of one member, and the other components work against all three.
func TestCoordThreeMembers(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Coords: 3, Nameservers: 1, Tablets: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	members, err := etcdClient(t, c.Coords[0].Endpoint).MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(members.Members) != 3 {
		t.Fatalf("cluster has %d members, want 3", len(members.Members))
	}
	if _, err := etcdClient(t, c.Coords[0].Endpoint).Put(ctx, "/test/k", "v1"); err != nil {
		t.Fatal(err)
	}
	got, err := etcdClient(t, c.Coords[2].Endpoint).Get(ctx, "/test/k")
	if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "v1" {
		t.Fatalf("read via member 3: %v %v", got, err)
	}

	if err := c.Coords[2].Stop(); err != nil {
		t.Fatal(err)
	}
	two := etcdClient(t, c.Coords[0].Endpoint, c.Coords[1].Endpoint)
	if _, err := two.Put(ctx, "/test/k", "v2"); err != nil {
		t.Fatalf("write with one member down: %v", err)
	}
	got, err = etcdClient(t, c.Coords[1].Endpoint).Get(ctx, "/test/k")
	if err != nil || string(got.Kvs[0].Value) != "v2" {
		t.Fatalf("read with one member down: %v %v", got, err)
	}
	// The nameserver and tablet still work through the remaining members.
	cluster.Eventually(t, 15*time.Second, "showtablet with one coord down", func() error {
		m, err := tabletStates(t, c)
		if err != nil {
			return err
		}
		if m[c.Tablets[0].Endpoint]["state"] != "kHealthy" {
			return fmt.Errorf("tablet: %v", m)
		}
		return nil
	})
	// The stopped member rejoins from its data dir.
	if err := c.Coords[2].Start(false); err != nil {
		t.Fatal(err)
	}
	got, err = etcdClient(t, c.Coords[2].Endpoint).Get(ctx, "/test/k")
	if err != nil || string(got.Kvs[0].Value) != "v2" {
		t.Fatalf("rejoined member reads %v %v", got, err)
	}
}

// Coord members are upgraded like the other components, one at a time
// (stop, back up bin, new bin, start), while writers run and the ops tool
// moves leaders off a tablet: with three members etcd keeps a quorum,
// with one it is down for the restart. Either way no op fails (the op
// engine polls again through etcd errors), no acknowledged write is lost,
// and every member reports the new version. The ops tool itself exits
// non-zero when it cannot reach etcd; it is run again, as
// docs/operations/upgrade.md tells operators to.
func TestRollingUpgradeCoords(t *testing.T) {
	for _, coords := range []int{3, 1} {
		t.Run(fmt.Sprintf("%d members", coords), func(t *testing.T) { rollingUpgradeCoords(t, coords) })
	}
}

func rollingUpgradeCoords(t *testing.T, coords int) {
	newRel := cluster.Release(t, newVersion)
	c := cluster.New(t, oldVersion, cluster.Options{Coords: coords, Nameservers: 1, Tablets: 3})
	if err := c.StartAll(false); err != nil {
		t.Fatal(err)
	}
	cli := connectSDK(t, c)
	createTable(t, cli, "db", "t", 12, 3)
	ws := startWriters(t, cli, "db", []string{"t"}, 0, 4)
	runTool := func(tb *cluster.Node, args ...string) {
		t.Helper()
		for attempt := 1; ; attempt++ {
			out, err := tb.Ops(args...)
			if err == nil {
				t.Logf("%s: %s", args[0], lastLine(out))
				return
			}
			if attempt == 5 {
				t.Errorf("%s failed %d times, last: %v\n%s", args[0], attempt, err, out)
				return
			}
			t.Logf("%s attempt %d failed (run again): %v: %s", args[0], attempt, err, lastLine(out))
			time.Sleep(time.Second)
		}
	}
	for i, co := range c.Coords {
		tb := c.Tablets[i%len(c.Tablets)]
		ep := "--endpoints=" + tb.Endpoint
		done := make(chan struct{})
		go func() {
			defer close(done)
			runTool(tb, "--cmd=pre-upgrade", ep)
		}()
		time.Sleep(time.Duration(100+150*i) * time.Millisecond)
		runStep(t, "stop "+co.Name, func() (string, error) { return co.Script("stop", "coord") })
		if err := co.BackupAndSwapBin(newRel); err != nil {
			t.Fatal(err)
		}
		runStep(t, "start "+co.Name, func() (string, error) { return co.Script("start", "coord") })
		if v := statusVersion(co.Endpoint); v != newVersion {
			t.Errorf("/status of %s says version %q, want %s", co.Name, v, newVersion)
		}
		<-done
		runTool(tb, "--cmd=post-upgrade", ep)
	}
	// etcd works with every member upgraded: a DDL commits, and the
	// members agree on the membership.
	ctx := cluster.Ctx(t)
	if err := cli.CreateTable(ctx, eventTable("db", "after", 2, 3), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatalf("create table after the coord upgrade: %v", err)
	}
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	members, err := etcdClient(t, c.Coords[0].Endpoint).MemberList(mctx)
	cancel()
	if err != nil || len(members.Members) != coords {
		t.Fatalf("member list after the upgrade: %v, %v", members, err)
	}
	rows := requireOpsDone(t, c)
	b, _ := os.ReadFile(filepath.Join(c.Nameservers[0].Dir, "logs", "nameserver.log"))
	t.Logf("%d ops, none failed; the op engine polled again through etcd errors %d times", len(rows),
		strings.Count(string(b), "coordination store unavailable"))
	stopAndVerifyWriters(t, c, cli, "db", ws, 4)
}
