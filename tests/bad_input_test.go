package tests

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
)

// Bad input gets a clear message and a non-zero exit within a bounded time.
func TestBadInput(t *testing.T) {
	bin := filepath.Join(cluster.Release(t, version), "bin", "openmldb")
	dir := t.TempDir()
	badFlags := filepath.Join(dir, "bad.flags")
	if err := os.WriteFile(badFlags, []byte("--role=tablet\nendpoint 127.0.0.1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "nope.flags")

	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no role", nil, 2, []string{"--role is required", "coord, nameserver, tablet"}},
		{"unknown role", []string{"--role=foo"}, 2, []string{`unknown role "foo"`, "valid roles: coord, nameserver, tablet"}},
		{"unknown flag", []string{"--role=tablet", "--no_such=1"}, 2, []string{"unknown flag --no_such", "--zk_cluster"}},
		{"unreadable flagfile", []string{"--flagfile=" + unreadable}, 2, []string{"cannot read flagfile", "nope.flags"}},
		{"malformed flagfile line", []string{"--flagfile=" + badFlags}, 2, []string{"line 2", "is not a flag"}},
		{"malformed endpoint", []string{"--role=nameserver", "--endpoint=localhost"}, 2, []string{`malformed endpoint "localhost"`}},
		{"bad port", []string{"--role=tablet", "--endpoint=127.0.0.1:99999"}, 2, []string{"port must be 1..65535"}},
		{"malformed zk_cluster", []string{"--role=tablet", "--zk_cluster=a:b:c"}, 2, []string{"--zk_cluster", "malformed endpoint"}},
		{"bad initial_cluster", []string{"--role=coord", "--initial_cluster=x"}, 2, []string{"--initial_cluster", "want name=host:port"}},
		{"bad log format", []string{"--role=tablet", "--log_format=xml"}, 2, []string{"--log_format"}},
		{"unreachable etcd (nameserver)", []string{"--role=nameserver", "--endpoint=" + freePort(t), "--zk_cluster=127.0.0.1:9", "--zk_connect_timeout=1500"}, 1,
			[]string{"etcd unreachable", "127.0.0.1:9"}},
		{"unreachable etcd (tablet)", []string{"--role=tablet", "--endpoint=" + freePort(t), "--raft_endpoint=" + freePort(t), "--db_root_path=" + dir + "/db",
			"--zk_cluster=127.0.0.1:9", "--zk_connect_timeout=1500"}, 1, []string{"etcd unreachable"}},
		{"unreachable etcd (ns_client)", []string{"--role=ns_client", "--zk_cluster=127.0.0.1:9", "--zk_connect_timeout=1500", "--interactive=false", "--cmd=showns"}, 1,
			[]string{"etcd unreachable"}},
		{"ns_client without cmd", []string{"--role=ns_client", "--interactive=false"}, 2, []string{"--cmd"}},
		{"ops: unknown cmd", []string{"--role=ops", "--cmd=bogus"}, 2, []string{`--cmd="bogus": unknown command`, "pre-upgrade, post-upgrade, recoverdata, showopstatus"}},
		{"ops: pre-upgrade without endpoints", []string{"--role=ops", "--cmd=pre-upgrade"}, 2, []string{"--cmd=pre-upgrade needs --endpoints"}},
		{"ops: post-upgrade without endpoints", []string{"--role=ops", "--cmd=post-upgrade"}, 2, []string{"--cmd=post-upgrade needs --endpoints"}},
		{"ops: malformed endpoints", []string{"--role=ops", "--cmd=pre-upgrade", "--endpoints=127.0.0.1:10921,tablet2"}, 2, []string{`--endpoints: malformed endpoint "tablet2"`}},
		{"ops: unknown op status", []string{"--role=ops", "--cmd=showopstatus", "--filter=failed"}, 2, []string{`--filter="failed"`, "kInited, kDoing, kDone, kFailed, kCanceled"}},
		{"ops: unwritable statfile", []string{"--role=ops", "--cmd=pre-upgrade", "--endpoints=127.0.0.1:10921", "--statfile=" + dir + "/no/such/dir/stat"}, 2, []string{"--statfile: open", "no such file or directory"}},
		{"ops: unreachable etcd", []string{"--role=ops", "--cmd=showopstatus", "--zk_cluster=127.0.0.1:9", "--zk_connect_timeout=1500"}, 1, []string{"etcd unreachable", "127.0.0.1:9"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			cmd := exec.CommandContext(ctx, bin, tc.args...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Fatalf("exit: %v, want code %d\n%s", err, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}

	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "openmldb version "+version+" (") || !strings.Contains(string(out), "go1.") {
		t.Fatalf("--version: %v %q", err, out)
	}
}
