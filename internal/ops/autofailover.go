package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
)

// runLeaseTTL: how long a run's etcd key outlives a tool that died without
// cleaning up (kill -9, a crashed machine). Only then does another run
// count it as gone and restore auto_failover.
const runLeaseTTL = 10 // seconds

// opsRun is what a running tool records under <root>/ops_tool/runs/.
type opsRun struct {
	Cmd       string    `json:"cmd"`
	Endpoints []string  `json:"endpoints,omitempty"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Started   time.Time `json:"started"`
}

// same: o is the run r (one process, started once).
func (r opsRun) same(o opsRun) bool {
	return r.Host == o.Host && r.PID == o.PID && r.Started.Equal(o.Started)
}

func (r opsRun) String() string {
	s := fmt.Sprintf("--cmd=%s", r.Cmd)
	if len(r.Endpoints) > 0 {
		s += " --endpoints=" + strings.Join(r.Endpoints, ",")
	}
	return fmt.Sprintf("%s (pid %d on %s, started %s)", s, r.PID, r.Host, r.Started.Format(time.RFC3339))
}

// restoreMark is <root>/ops_tool/auto_failover_restore: "a tool switched
// auto_failover off and it must go back on once no run is left". It has
// no lease, so it survives the tool that wrote it.
type restoreMark struct {
	By opsRun    `json:"by"`
	At time.Time `json:"at"`
}

// withAutoFailoverOff switches auto_failover off for fn and switches it
// back on afterwards: on success, on failure, and, when the tool is killed
// or its machine dies, at the end of the next ops-tool run. The intent to
// restore is kept in etcd and every run registers itself under a lease, so
// the last run to finish restores it, and never while another is under way.
func (t *tool) withAutoFailoverOff(ctx context.Context, fn func() error) error {
	etcd := t.cli.Etcd()
	lease, err := etcd.Grant(ctx, runLeaseTTL)
	if err != nil {
		return fmt.Errorf("registering this run in etcd: %w", err)
	}
	kctx, stopKeepAlive := context.WithCancel(context.Background())
	defer stopKeepAlive()
	ka, err := etcd.KeepAlive(kctx, lease.ID)
	if err != nil {
		return fmt.Errorf("registering this run in etcd: %w", err)
	}
	go func() {
		for range ka {
		}
	}()
	me := t.thisRun()
	runKey := t.keys.OpsToolRun(fmt.Sprintf("%016x", lease.ID))
	b, _ := json.Marshal(me)
	if _, err := etcd.Put(ctx, runKey, string(b), clientv3.WithLease(lease.ID)); err != nil {
		return fmt.Errorf("registering this run in etcd: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stopKeepAlive()
		_, _ = etcd.Revoke(rctx, lease.ID) // deletes runKey
		t.restoreAutoFailover(rctx, runKey)
	}()

	resp, err := t.ns.ConfGet(ctx, connect.NewRequest(&openmldbv1.ConfGetRequest{Key: "auto_failover"}))
	if err != nil {
		return rpcErr(err)
	}
	if resp.Msg.Conf["auto_failover"] == "true" {
		// The mark goes first: a crash right after it leaves auto_failover
		// on and a mark whose restore is harmless.
		mb, _ := json.Marshal(restoreMark{By: me, At: time.Now().UTC()})
		if _, err := etcd.Put(ctx, t.keys.AutoFailoverRestore(), string(mb)); err != nil {
			return fmt.Errorf("recording that auto_failover must be restored: %w", err)
		}
		if _, err := t.ns.ConfSet(ctx, connect.NewRequest(&openmldbv1.ConfSetRequest{Key: "auto_failover", Value: "false"})); err != nil {
			return rpcErr(err)
		}
		t.printf("auto_failover switched off for the duration\n")
	} else if mark, ok := t.restoreMark(ctx); ok {
		others, _ := t.otherRuns(ctx, runKey)
		if slices.ContainsFunc(others, mark.By.same) {
			t.printf("auto_failover is off for another ops-tool run under way, %s; the last run to finish switches it back on\n", mark.By)
		} else {
			t.printf("auto_failover is off since an earlier run that did not finish: %s; it is switched back on when this run ends\n", mark.By)
		}
	}
	return fn()
}

// restoreAutoFailover switches auto_failover back on if a run recorded that
// it must be and no other run is under way. A run that died on this
// machine is recognised at once; one elsewhere only when its lease lapses,
// which is waited for (a killed run must not keep auto_failover off
// because its key outlived it by a few seconds).
func (t *tool) restoreAutoFailover(ctx context.Context, own string) {
	if _, ok := t.restoreMark(ctx); !ok {
		return
	}
	deadline := time.Now().Add(runLeaseTTL*time.Second + 2*time.Second)
	waited := false
	for told := false; ; told = true {
		others, err := t.otherRuns(ctx, own)
		if err != nil {
			t.printf("WARNING: could not check for other ops-tool runs, so auto_failover stays off: %v; switch it on with `confset auto_failover true` once none is running\n", err)
			return
		}
		if len(others) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.printf("auto_failover stays off: another ops-tool run is under way, %s; the last run to finish switches it back on\n", others[0])
			return
		}
		if !told {
			t.printf("waiting up to %s for another ops-tool run to end before switching auto_failover back on: %s\n", time.Until(deadline).Round(time.Second), others[0])
		}
		if pause(ctx) != nil {
			t.printf("WARNING: interrupted; auto_failover stays off until the next ops-tool run ends, or `confset auto_failover true`\n")
			return
		}
		waited = true
	}
	if _, ok := t.restoreMark(ctx); waited && !ok {
		return // the run waited for restored it, or an operator decided meanwhile
	}
	if _, err := t.ns.ConfSet(ctx, connect.NewRequest(&openmldbv1.ConfSetRequest{Key: "auto_failover", Value: "true"})); err != nil {
		t.printf("WARNING: could not switch auto_failover back on: %v; the next ops-tool run retries, or use `confset auto_failover true`\n", rpcErr(err))
		return
	}
	// After the switch: a crash in between only repeats it next time.
	if _, err := t.cli.Etcd().Delete(ctx, t.keys.AutoFailoverRestore()); err != nil {
		t.printf("WARNING: auto_failover is back on, but the record that it had to be could not be removed: %v\n", err)
	}
	t.printf("auto_failover switched back on\n")
}

// otherRuns lists the registered runs but own, dropping those that died on
// this machine (their process is gone) along with their keys.
func (t *tool) otherRuns(ctx context.Context, own string) ([]opsRun, error) {
	etcd := t.cli.Etcd()
	resp, err := etcd.Get(ctx, t.keys.OpsToolRunPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	var out []opsRun
	for _, kv := range resp.Kvs {
		if string(kv.Key) == own {
			continue
		}
		var r opsRun
		_ = json.Unmarshal(kv.Value, &r)
		if r.Host == host && r.PID > 0 && !isOpsProcess(r.PID) {
			_, _ = etcd.Delete(ctx, string(kv.Key))
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// isOpsProcess: pid is a running ops tool on this machine (not a process
// that reused a dead tool's pid).
func isOpsProcess(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(b), "--role=ops")
}

func (t *tool) restoreMark(ctx context.Context) (restoreMark, bool) {
	resp, err := t.cli.Etcd().Get(ctx, t.keys.AutoFailoverRestore())
	if err != nil || len(resp.Kvs) == 0 {
		return restoreMark{}, false
	}
	var m restoreMark
	_ = json.Unmarshal(resp.Kvs[0].Value, &m)
	return m, true
}

// warnStrandedAutoFailover tells whoever checks the cluster (showopstatus,
// showtablestatus) that a run died with auto_failover switched off. It
// goes to stderr so that the tables on stdout stay parseable.
func (t *tool) warnStrandedAutoFailover(ctx context.Context, w io.Writer) {
	mark, ok := t.restoreMark(ctx)
	if !ok {
		return
	}
	if others, err := t.otherRuns(ctx, ""); err != nil || len(others) > 0 {
		return // a run is under way and restores it when it ends
	}
	fmt.Fprintf(w, "WARNING: auto_failover was switched off by an ops-tool run that did not finish: %s. "+
		"The next pre-upgrade, post-upgrade, recoverdata, scalein or scaleout switches it back on when it ends, or run `confset auto_failover true`.\n", mark.By)
}

func (t *tool) thisRun() opsRun {
	host, _ := os.Hostname()
	return opsRun{Cmd: t.cfg.Cmd, Endpoints: t.cfg.Endpoints, Host: host, PID: os.Getpid(), Started: time.Now().UTC()}
}
