package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/ops"
	"github.com/openmldb-go/openmldb/tests/cluster"
)

// runningOps is the seed's ops command line started in a node directory,
// its output read line by line.
type runningOps struct {
	cmd   *exec.Cmd
	sc    *bufio.Scanner
	lines []string
}

func startOps(t *testing.T, c *cluster.Cluster, n *cluster.Node, args ...string) *runningOps {
	t.Helper()
	cmd := exec.Command("python3", append([]string{"tools/openmldb_ops.py", "--openmldb_bin_path=./bin/openmldb",
		"--zk_cluster=" + c.ZkCluster, "--zk_root_path=" + c.RootPath}, args...)...)
	cmd.Dir = n.Dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return &runningOps{cmd: cmd, sc: bufio.NewScanner(stdout)}
}

// readUntil reads lines until one satisfies stop; false at the end of output.
func (r *runningOps) readUntil(stop func(line string) bool) bool {
	for r.sc.Scan() {
		r.lines = append(r.lines, r.sc.Text())
		if stop(r.sc.Text()) {
			return true
		}
	}
	return false
}

// signal sends sig (python3 exec'd the binary, so it reaches the tool
// itself), reads the rest and returns the exit.
func (r *runningOps) signal(sig syscall.Signal) error {
	_ = r.cmd.Process.Signal(sig)
	r.readUntil(func(string) bool { return false })
	return r.cmd.Wait()
}

func (r *runningOps) output() string { return strings.Join(r.lines, "\n") }

// killOpsMidway starts the seed's pre-upgrade command for ep in n's
// directory and kill -9s it as soon as it has printed a line containing
// until, after switching auto_failover off.
func killOpsMidway(t *testing.T, c *cluster.Cluster, n *cluster.Node, ep, until string) {
	t.Helper()
	r := startOps(t, c, n, "--cmd=pre-upgrade", "--endpoints="+ep)
	off := false
	found := r.readUntil(func(line string) bool {
		off = off || strings.Contains(line, "auto_failover switched off")
		return off && strings.Contains(line, until)
	})
	_ = r.signal(syscall.SIGKILL)
	if !found {
		t.Fatalf("pre-upgrade never printed %q after switching auto_failover off:\n%s", until, r.output())
	}
}

// longCtx bounds a whole test's etcd and CLI calls.
func longCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func autoFailover(t *testing.T, c *cluster.Cluster) string {
	t.Helper()
	out, err := c.NSClient(cluster.Ctx(t), "confget auto_failover")
	if err != nil {
		t.Fatalf("confget: %v\n%s", err, out)
	}
	rows, err := cluster.ParseTable(out)
	if err != nil || len(rows) != 1 {
		t.Fatalf("confget output: %v\n%s", err, out)
	}
	return rows[0]["value"]
}

// The ops tool's refusals that need a cluster to judge; a pre-upgrade
// killed with -9 (it cannot switch auto_failover back on: the next run
// does, once no other run is under way; showopstatus warns meanwhile; an
// operator's own confset outranks the dead run; post-upgrade undoes its
// half plan); and a pre-upgrade run after its tablet was stopped.
func TestOpsToolRefusalsAndCrashes(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3})
	cli := connectSDK(t, c)
	ctx := longCtx(t) // cluster.Ctx's 30 s is shorter than these tests on a slow machine
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db", "t", 6, 2), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	ws := startWriters(t, cli, "db", []string{"t"}, 0, 2)
	if out, err := c.NSClient(ctx, "confset auto_failover true"); err != nil {
		t.Fatalf("confset: %v\n%s", err, out)
	}
	keys := coord.Keys{Root: c.RootPath}
	etcd := cli.Etcd()
	markPresent := func() bool {
		resp, err := etcd.Get(ctx, keys.AutoFailoverRestore())
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.Kvs) > 0
	}
	tablet := c.Tablets[0]

	// Refusals that need a cluster to judge, each naming what was wrong.
	for _, tc := range []struct{ args, want []string }{
		{[]string{"--cmd=pre-upgrade", "--endpoints=127.0.0.1:9"}, []string{"127.0.0.1:9 is neither a healthy tablet nor holds any replica"}},
		{[]string{"--cmd=scalein", "--endpoints=127.0.0.1:9"}, []string{"127.0.0.1:9 is neither a healthy tablet nor holds any replica"}},
		{[]string{"--cmd=showopstatus", "--db=nosuchdb"}, []string{"--db=nosuchdb: no such database"}},
		{[]string{"--cmd=pre-upgrade", "--endpoints=" + c.Tablets[0].Endpoint + "," + c.Tablets[1].Endpoint}, []string{"together refused: these partitions have replicas on more than one of them", "db.t pid"}},
	} {
		out, err := tablet.Ops(tc.args...)
		if err == nil {
			t.Fatalf("%v succeeded:\n%s", tc.args, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Fatalf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	if v := autoFailover(t, c); v != "true" {
		t.Fatalf("a refused command left auto_failover %s", v)
	}

	// Killed once it has started to move leaders: its plan is half done.
	killOpsMidway(t, c, tablet, tablet.Endpoint, "moving the leader off")
	if v := autoFailover(t, c); v != "false" {
		t.Fatalf("after the kill auto_failover is %s; the killed run had switched it off", v)
	}
	if !markPresent() {
		t.Fatal("the killed run left no record that auto_failover must be restored")
	}
	// Once the dead run's lease lapses, the status commands say so (on
	// stderr: the table itself stays as it was).
	cluster.Eventually(t, 30*time.Second, "showopstatus warns", func() error {
		out, err := tablet.Ops("--cmd=showopstatus")
		if err != nil {
			t.Fatalf("showopstatus: %v\n%s", err, out)
		}
		if !strings.Contains(out, "auto_failover was switched off by an ops-tool run that did not finish: --cmd=pre-upgrade --endpoints="+tablet.Endpoint) {
			return errorf("no warning yet:\n%s", out)
		}
		return nil
	})

	// Another run under way (a lease of its own): the next run to finish
	// leaves auto_failover off for it.
	lease, err := etcd.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etcd.Put(ctx, keys.OpsToolRun("other"), `{"cmd":"scaleout","host":"elsewhere","pid":1}`, clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	out, err := tablet.Ops("--cmd=post-upgrade", "--endpoints="+tablet.Endpoint)
	if err != nil {
		t.Fatalf("post-upgrade after the crash: %v\n%s", err, out)
	}
	if !strings.Contains(out, "auto_failover is off since an earlier run that did not finish: --cmd=pre-upgrade") {
		t.Fatalf("post-upgrade did not say why auto_failover is off:\n%s", out)
	}
	t.Logf("post-upgrade after the crash, with another run under way:\n%s", out)
	if !strings.Contains(out, "auto_failover stays off: another ops-tool run is under way, --cmd=scaleout") {
		t.Fatalf("post-upgrade with another run under way:\n%s", out)
	}
	if v := autoFailover(t, c); v != "false" || !markPresent() {
		t.Fatalf("with another run under way: auto_failover %s, record present %v; want false, true", v, markPresent())
	}
	if _, err := etcd.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	out, err = tablet.Ops("--cmd=post-upgrade", "--endpoints="+tablet.Endpoint)
	if err != nil {
		t.Fatalf("second post-upgrade: %v\n%s", err, out)
	}
	if !strings.Contains(out, "auto_failover switched back on") {
		t.Fatalf("the last run did not switch auto_failover back on:\n%s", out)
	}
	if v := autoFailover(t, c); v != "true" || markPresent() {
		t.Fatalf("after the last run: auto_failover %s, record present %v; want true, false", v, markPresent())
	}
	if plan, err := etcd.Get(ctx, keys.UpgradePlan(tablet.Endpoint)); err != nil || len(plan.Kvs) != 0 {
		t.Fatalf("the crashed pre-upgrade's plan is still recorded after post-upgrade (err %v)", err)
	}
	cluster.Eventually(t, 30*time.Second, "temporary replicas removed", func() error {
		for _, tm := range cli.Tables("db") {
			for pid, p := range tm.Partitions {
				if len(p.Replicas) != 2 {
					return errorf("pid %d has %d replicas after post-upgrade, want 2", pid, len(p.Replicas))
				}
			}
		}
		return nil
	})

	// An operator who decides after a crash to keep auto_failover off is
	// not overruled by the next run.
	killOpsMidway(t, c, tablet, c.Tablets[1].Endpoint, "auto_failover switched off")
	if out, err := c.NSClient(ctx, "confset auto_failover false"); err != nil {
		t.Fatalf("confset: %v\n%s", err, out)
	}
	if markPresent() {
		t.Fatal("confset auto_failover left the dead run's record in place")
	}
	out, err = tablet.Ops("--cmd=post-upgrade", "--endpoints="+c.Tablets[1].Endpoint)
	if err != nil {
		t.Fatalf("post-upgrade: %v\n%s", err, out)
	}
	if v := autoFailover(t, c); v != "false" {
		t.Fatalf("post-upgrade switched auto_failover to %s after the operator set it false:\n%s", v, out)
	}

	ws.stopAndWait()
	if ws.errs.Load() > 0 {
		t.Fatalf("%d writes failed (last: %v)", ws.errs.Load(), ws.lastErr.Load())
	}
	verifyAcked(t, cli, "db", ws, 2)
	verifyReplicasIdentical(t, c, cli, "db")

	// The seed's steps out of order: the tablet stopped first. Its
	// 2-replica partitions have no majority left to add a temporary
	// replica with, so pre-upgrade refuses before changing anything
	// instead of leaving ops that wait for ever.
	down := c.Tablets[2]
	if err := down.Stop(); err != nil {
		t.Fatal(err)
	}
	cluster.Eventually(t, 20*time.Second, "the stopped tablet's replicas reported gone", func() error {
		// Bounded: without the refusal the tool would wait for its ops.
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "python3", "tools/openmldb_ops.py", "--openmldb_bin_path=./bin/openmldb",
			"--zk_cluster="+c.ZkCluster, "--zk_root_path="+c.RootPath, "--cmd=pre-upgrade", "--endpoints="+down.Endpoint)
		cmd.Dir = tablet.Dir
		b, err := cmd.CombinedOutput()
		out := string(b)
		if ctx.Err() != nil {
			t.Fatalf("pre-upgrade of a stopped tablet still running after 60 s:\n%s", out)
		}
		if err == nil {
			t.Fatalf("pre-upgrade of a stopped tablet succeeded:\n%s", out)
		}
		if !strings.Contains(out, "have no live majority, so no temporary replica can be added") || !strings.Contains(out, "(1 of 2 voters live)") {
			return errorf("not refused for the lost majorities yet:\n%s", out)
		}
		return nil
	})
	for _, r := range waitOpsFinished(t, c, 10*time.Second) {
		if r["op_type"] == "kAddReplicaOP" && r["start_time"] > "" && r["status"] != "kDone" {
			t.Fatalf("a refused pre-upgrade left op %s %s", r["op_id"], r["status"])
		}
	}
	if err := down.Start(false); err != nil {
		t.Fatal(err)
	}
	if out, err := tablet.Ops("--cmd=recoverdata"); err != nil {
		t.Fatalf("recoverdata: %v\n%s", err, out)
	}

	// post-upgrade before the tablet is back waits for it, says so, and
	// stops at SIGTERM at once, switching auto_failover back on.
	if out, err := c.NSClient(ctx, "confset auto_failover true"); err != nil {
		t.Fatalf("confset: %v\n%s", err, out)
	}
	if out, err := tablet.Ops("--cmd=pre-upgrade", "--endpoints="+down.Endpoint); err != nil {
		t.Fatalf("pre-upgrade: %v\n%s", err, out)
	}
	if err := down.Stop(); err != nil {
		t.Fatal(err)
	}
	r := startOps(t, c, tablet, "--cmd=post-upgrade", "--endpoints="+down.Endpoint)
	r.readUntil(func(line string) bool {
		return strings.Contains(line, "waiting up to") && strings.Contains(line, down.Endpoint+" to run and register")
	})
	stopped := time.Now()
	err = r.signal(syscall.SIGTERM)
	if d := time.Since(stopped); err == nil || d > 10*time.Second {
		t.Fatalf("post-upgrade after SIGTERM: exit %v after %s\n%s", err, d.Round(time.Millisecond), r.output())
	}
	if v := autoFailover(t, c); v != "true" {
		t.Fatalf("post-upgrade stopped by SIGTERM left auto_failover %s:\n%s", v, r.output())
	}
	if err := down.Start(false); err != nil {
		t.Fatal(err)
	}
	out, err = tablet.Ops("--cmd=post-upgrade", "--endpoints="+down.Endpoint)
	if err != nil || !strings.Contains(out, "post-upgrade "+down.Endpoint+" done") {
		t.Fatalf("post-upgrade once the tablet is back: %v\n%s", err, out)
	}

	// Two runs at once: whichever ends last switches auto_failover back
	// on; neither leaves it off waiting for the other.
	a := startOps(t, c, tablet, "--cmd=pre-upgrade", "--endpoints="+tablet.Endpoint)
	if !a.readUntil(func(line string) bool { return strings.Contains(line, "auto_failover switched off") }) {
		t.Fatalf("pre-upgrade did not switch auto_failover off:\n%s", a.output())
	}
	outB, errB := tablet.Ops("--cmd=recoverdata")
	a.readUntil(func(string) bool { return false })
	if err := a.cmd.Wait(); err != nil || errB != nil {
		t.Fatalf("concurrent runs: pre-upgrade %v, recoverdata %v\n%s\n--\n%s", err, errB, a.output(), outB)
	}
	t.Logf("recoverdata beside a pre-upgrade:\n%s", outB)
	if v := autoFailover(t, c); v != "true" || markPresent() {
		t.Fatalf("after two concurrent runs: auto_failover %s, record present %v; want true, false\n%s\n--\n%s", v, markPresent(), a.output(), outB)
	}
	if out, err := tablet.Ops("--cmd=post-upgrade", "--endpoints="+tablet.Endpoint); err != nil {
		t.Fatalf("post-upgrade: %v\n%s", err, out)
	}
}

// Two tablets that share no partition (every partition here has one
// replica) prepared by one pre-upgrade and stopped together: no temporary
// replica lands on either, and every partition keeps taking writes.
func TestPreUpgradeTwoTabletsTogether(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 4})
	cli := connectSDK(t, c)
	ctx := longCtx(t) // cluster.Ctx's 30 s is shorter than these tests on a slow machine
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one", "probe"} {
		if err := cli.CreateTable(ctx, eventTable("db", name, 8, 1), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
			t.Fatal(err)
		}
	}
	ws := startWriters(t, cli, "db", []string{"one"}, 0, 2)
	a, b, runner := c.Tablets[0], c.Tablets[1], c.Tablets[2]
	both := a.Endpoint + "," + b.Endpoint
	if out, err := runner.Ops("--cmd=pre-upgrade", "--endpoints="+both); err != nil {
		t.Fatalf("pre-upgrade of two tablets with no partition in common: %v\n%s", err, out)
	}
	keys := coord.Keys{Root: c.RootPath}
	for _, ep := range []string{a.Endpoint, b.Endpoint} {
		resp, err := cli.Etcd().Get(ctx, keys.UpgradePlan(ep))
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("plan of %s: %v", ep, err)
		}
		var plan ops.Plan
		if err := json.Unmarshal(resp.Kvs[0].Value, &plan); err != nil {
			t.Fatal(err)
		}
		if len(plan.TempReplicas) == 0 {
			t.Fatalf("%s holds no 1-replica partition: the test proves nothing", ep)
		}
		for _, tr := range plan.TempReplicas {
			if tr.AddedEP == a.Endpoint || tr.AddedEP == b.Endpoint {
				t.Fatalf("%s.%s pid %d got its temporary replica on %s, which stops too", tr.DB, tr.Table, tr.PID, tr.AddedEP)
			}
		}
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	tm, err := cli.Table("db", "probe")
	if err != nil {
		t.Fatal(err)
	}
	done := map[uint32]bool{}
	for i := 0; len(done) < tm.PartitionNum && i < 10000; i++ {
		k := fmt.Sprintf("p-%d", i)
		pid := client.PartitionOf(tm, k)
		if done[pid] {
			continue
		}
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := cli.Put(pctx, "db", "probe", []any{k, int64(i + 1), "v"})
		cancel()
		if err != nil {
			t.Fatalf("with %s stopped, probe pid %d took no write in 5 s: %v", both, pid, err)
		}
		done[pid] = true
	}
	for _, n := range []*cluster.Node{a, b} {
		if err := n.Start(false); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := runner.Ops("--cmd=post-upgrade", "--endpoints="+both); err != nil {
		t.Fatalf("post-upgrade: %v\n%s", err, out)
	}
	ws.stopAndWait()
	if ws.errs.Load() > 0 {
		t.Fatalf("%d writes failed (last: %v)", ws.errs.Load(), ws.lastErr.Load())
	}
	verifyAcked(t, cli, "db", ws, 2)
	verifyReplicasIdentical(t, c, cli, "db")
}

// replicaIDsOn maps each partition of db's tables with a replica on ep to
// that replica's id.
func replicaIDsOn(cli *client.Client, db, ep string) map[uint32]uint64 {
	ids := map[uint32]uint64{}
	for _, tm := range cli.Tables(db) {
		for _, pm := range tm.Partitions {
			for _, r := range pm.Replicas {
				if r.Endpoint == ep {
					ids[pm.PID] = r.ReplicaID
				}
			}
		}
	}
	return ids
}

// restartWithEmptyDisk stops the tablet, removes its data directory
// (--db_root_path=./db) as a replaced disk would, and starts it again.
// expectReplicasReplaced waits until every partition of db that held a
// replica on ep (oldIDs, pid -> replica id) holds one there again under a
// new replica id.
func expectReplicasReplaced(t *testing.T, cli *client.Client, db, ep string, oldIDs map[uint32]uint64, within time.Duration) {
	t.Helper()
	cluster.Eventually(t, within, "new replica ids", func() error {
		now := replicaIDsOn(cli, db, ep)
		for pid, id := range oldIDs {
			if now[pid] == 0 || now[pid] == id {
				return errorf("pid %d on %s: replica id %d (was %d)", pid, ep, now[pid], id)
			}
		}
		return nil
	})
}

func restartWithEmptyDisk(t *testing.T, n *cluster.Node) {
	t.Helper()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(n.Dir, "db")); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(false); err != nil {
		t.Fatal(err)
	}
}

// A tablet whose data directory is lost (a replaced disk) comes back
// empty: it must not rejoin its groups under the old replica ids (Raft
// voters that forgot their log and votes; dragonboat's leader panics such
// a follower on its first heartbeat, and it could help elect a leader
// that lacks acknowledged writes). It stays up, and recoverdata replaces
// each replica with a new one copied from the leader.
func TestRecoverdataAfterALostDisk(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3})
	cli := connectSDK(t, c)
	ctx := longCtx(t) // cluster.Ctx's 30 s is shorter than these tests on a slow machine
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db", "t", 4, 3), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	// And a 2-replica table, which Raft cannot repair without the lost voter.
	if err := cli.CreateDatabase(ctx, "db2", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db2", "two", 3, 2), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	ws := startWriters(t, cli, "db", []string{"t"}, 0, 2)
	time.Sleep(2 * time.Second)
	n := c.Tablets[2]
	var twoOnN []uint32
	for pid := range replicaIDsOn(cli, "db2", n.Endpoint) {
		twoOnN = append(twoOnN, pid)
	}
	if len(twoOnN) == 0 {
		t.Fatalf("%s holds no replica of db2.two: the test proves less than it says", n.Endpoint)
	}
	oldIDs := replicaIDsOn(cli, "db", n.Endpoint)
	if len(oldIDs) != 4 {
		t.Fatalf("%s holds %d of the 4 partitions, want all", n.Endpoint, len(oldIDs))
	}
	restartWithEmptyDisk(t, n)
	// Before: the forgotten replicas started as themselves and the tablet
	// crashed within a second, again after every restart.
	time.Sleep(3 * time.Second)
	pid, err := n.Pid()
	if err != nil || syscall.Kill(pid, 0) != nil {
		t.Fatalf("the tablet with the lost disk is not running (pid %d, %v)", pid, err)
	}
	start := time.Now()
	out, err := n.Ops("--cmd=recoverdata")
	if err == nil || !strings.Contains(out, "t in db recovered") {
		t.Fatalf("recoverdata after the lost disk: %v (want exit 1 for db2.two)\n%s", err, out)
	}
	if strings.Contains(out, "two in db2 is healthy") {
		t.Fatalf("recoverdata calls db2.two healthy while it cannot recover it:\n%s", out)
	}
	for _, pid := range twoOnN {
		want := fmt.Sprintf("FAILED: db2.two pid %d on %s: its tablet no longer has this replica's data", pid, n.Endpoint)
		if !strings.Contains(out, want) || !strings.Contains(out, "not a majority of 2") {
			t.Fatalf("recoverdata does not say why db2.two pid %d cannot be replaced:\n%s", pid, out)
		}
	}
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("recoverdata took %s", d.Round(time.Second))
	}
	t.Logf("recoverdata after the lost disk (%s):\n%s", time.Since(start).Round(100*time.Millisecond), out)
	expectReplicasReplaced(t, cli, "db", n.Endpoint, oldIDs, 10*time.Second)
	stopAndVerifyWriters(t, c, cli, "db", ws, 2)
}

// With auto_failover on, the nameserver itself replaces the replicas of a
// tablet that came back with an empty data directory, however briefly it
// was down (no operator, no recoverdata).
func TestAutoFailoverReplacesALostDisk(t *testing.T) {
	c := cluster.Start(t, version, cluster.Options{Nameservers: 1, Tablets: 3})
	cli := connectSDK(t, c)
	ctx := longCtx(t) // cluster.Ctx's 30 s is shorter than these tests on a slow machine
	if err := cli.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	if err := cli.CreateTable(ctx, eventTable("db", "t", 4, 3), client.CreateTableOptions{ReplicaNumSet: true}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.NSClient(ctx, "confset auto_failover true"); err != nil {
		t.Fatalf("confset: %v\n%s", err, out)
	}
	ws := startWriters(t, cli, "db", []string{"t"}, 0, 2)
	time.Sleep(2 * time.Second)
	n := c.Tablets[2]
	oldIDs := replicaIDsOn(cli, "db", n.Endpoint)
	restartWithEmptyDisk(t, n)
	expectReplicasReplaced(t, cli, "db", n.Endpoint, oldIDs, 60*time.Second) // by the nameserver itself
	waitOpsFinished(t, c, 30*time.Second)
	out, err := n.Ops("--cmd=showtablestatus")
	if err != nil {
		t.Fatalf("showtablestatus: %v\n%s", err, out)
	}
	rows, err := cluster.ParseTable(out)
	if err != nil || len(rows) != 1 || rows[0]["Partition_unalive"] != "0" {
		t.Fatalf("after the replacement: %v\n%s", err, out)
	}
	stopAndVerifyWriters(t, c, cli, "db", ws, 2)
}
