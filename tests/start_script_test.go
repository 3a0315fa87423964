package tests

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

func mustContain(t *testing.T, out, want string) {
	t.Helper()
	if !strings.Contains(out, want) {
		t.Fatalf("output does not contain %q:\n%s", want, out)
	}
}

func TestStartScript(t *testing.T) {
	c := cluster.New(t, version, cluster.Options{Tablets: 1})
	coord := c.Coords[0]

	out, err := coord.Script("start", "coord")
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	mustContain(t, out, "Start coord success")
	pid, err := coord.Pid()
	if err != nil || !cluster.Alive(pid) {
		t.Fatalf("pid file: pid=%d err=%v", pid, err)
	}

	out, err = coord.Script("start", "coord")
	if err != nil {
		t.Fatalf("double start must exit 0: %v\n%s", err, out)
	}
	mustContain(t, out, "coord already running as process")

	out, err = coord.Script("restart", "coord")
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	mustContain(t, out, "Stop coord success")
	mustContain(t, out, "Start coord success")
	if newPid, _ := coord.Pid(); newPid == pid || cluster.Alive(pid) {
		t.Fatalf("restart kept process %d (now %d)", pid, newPid)
	}

	// Bad usage of the script itself.
	if out, err = coord.Script("start", "nosuch"); err == nil {
		t.Fatalf("unknown component accepted:\n%s", out)
	}
	mustContain(t, out, "unknown component")

	tab := c.Tablets[0]

	// A component that cannot start: its port is taken by someone else.
	ln, err := net.Listen("tcp", tab.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	out, err = tab.Script("start", "tablet")
	ln.Close()
	if err == nil {
		t.Fatalf("start with a taken port succeeded:\n%s", out)
	}
	mustContain(t, out, "Start tablet failed")
	mustContain(t, out, "address already in use")
	if _, err := os.Stat(filepath.Join(tab.Dir, "bin", "tablet.pid")); err == nil {
		t.Fatal("failed start left a pid file")
	}

	// A bad flag, with and without mon: start exits 1 and says why.
	orig, _ := os.ReadFile(tab.FlagFile())
	if err := tab.AppendFlagLine("--no_such_flag=1"); err != nil {
		t.Fatal(err)
	}
	for _, mode := range [][]string{{"start", "tablet"}, {"start", "tablet", "mon"}} {
		start := time.Now()
		out, err = tab.Script(mode...)
		if err == nil {
			t.Fatalf("%v with a bad flag succeeded:\n%s", mode, out)
		}
		mustContain(t, out, "Start tablet failed")
		mustContain(t, out, "unknown flag --no_such_flag")
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%v took %s to fail on a bad flag", mode, d)
		}
	}
	if err := os.WriteFile(tab.FlagFile(), orig, 0o644); err != nil {
		t.Fatal(err)
	}

	// mon mode: the supervisor restarts a killed child and updates .pid.child.
	if err := tab.Start(true); err != nil {
		t.Fatal(err)
	}
	monPid, _ := tab.MonPid()
	child, _ := tab.Pid()
	if monPid == child || !cluster.Alive(monPid) || !cluster.Alive(child) {
		t.Fatalf("mon %d child %d", monPid, child)
	}
	if err := tab.Kill(); err != nil {
		t.Fatal(err)
	}
	took := cluster.Eventually(t, 15*time.Second, "mon restarts the child", func() error {
		p, err := tab.Pid()
		if err != nil {
			return err
		}
		if p == child || !cluster.Alive(p) {
			return os.ErrNotExist
		}
		return nil
	})
	t.Logf("mon restarted the killed child in %s", took.Round(time.Millisecond))

	// SIGTERM to mon stops the child and then mon.
	child, _ = tab.Pid()
	out, err = tab.Script("stop", "tablet")
	if err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	mustContain(t, out, "Stop tablet success")
	if cluster.Alive(monPid) || cluster.Alive(child) {
		t.Fatalf("after stop: mon alive=%v child alive=%v", cluster.Alive(monPid), cluster.Alive(child))
	}
	for _, f := range []string{"tablet.pid", "tablet.pid.child"} {
		if _, err := os.Stat(filepath.Join(tab.Dir, "bin", f)); err == nil {
			t.Fatalf("%s left behind", f)
		}
	}

	// kill -9 of mon leaves the child running unsupervised; stop still stops it.
	if err := tab.Start(true); err != nil {
		t.Fatal(err)
	}
	monPid, _ = tab.MonPid()
	child, _ = tab.Pid()
	if err := killPid(monPid); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if !cluster.Alive(child) {
		t.Fatal("child died with its supervisor")
	}
	out, err = tab.Script("stop", "tablet")
	if err != nil || cluster.Alive(child) {
		t.Fatalf("stop after mon was killed: err=%v child alive=%v\n%s", err, cluster.Alive(child), out)
	}
	mustContain(t, out, "Stop tablet success")

	// stop without a pid file.
	out, err = tab.Script("stop", "tablet")
	if err != nil {
		t.Fatalf("stop without pid must exit 0: %v\n%s", err, out)
	}
	mustContain(t, out, "no tablet to stop")

	out, err = coord.Script("stop", "coord")
	if err != nil {
		t.Fatalf("stop coord: %v\n%s", err, out)
	}
	mustContain(t, out, "Stop coord success")
}
