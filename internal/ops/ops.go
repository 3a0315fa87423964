package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/client"
	"github.com/openmldb-go/openmldb/internal/cli"
	"github.com/openmldb-go/openmldb/internal/config"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/nameserver"
	"github.com/openmldb-go/openmldb/internal/nsclient"
)

// opStatuses are the op statuses showopstatus --filter takes.
var opStatuses = []string{nameserver.OpInited, nameserver.OpDoing, nameserver.OpDone, nameserver.OpFailed, nameserver.OpCanceled}

// Commands the tool knows.
var Commands = []string{"pre-upgrade", "post-upgrade", "recoverdata", "showopstatus", "showtablestatus", "scalein", "scaleout"}

// ErrFailed makes main exit 1 after the tool printed why.
var ErrFailed = errors.New("ops command failed")

// opWait bounds how long the tool waits for the ops it submitted.
const opWait = 10 * time.Minute

type tool struct {
	cfg  *config.Config
	cli  *client.Client
	ns   openmldbv1connect.NameServerClient
	keys coord.Keys
	out  io.Writer
}

// Run executes --cmd.
func Run(ctx context.Context, cfg *config.Config, out io.Writer) error {
	known := false
	for _, c := range Commands {
		known = known || c == cfg.Cmd
	}
	if !known {
		return config.Usagef("--cmd=%q: unknown command; commands: %s", cfg.Cmd, strings.Join(Commands, ", "))
	}
	if (cfg.Cmd == "pre-upgrade" || cfg.Cmd == "post-upgrade" || cfg.Cmd == "scalein") && len(cfg.Endpoints) == 0 {
		return config.Usagef("--cmd=%s needs --endpoints=<tablet endpoint>[,...]", cfg.Cmd)
	}
	for _, ep := range cfg.Endpoints {
		if err := config.ValidateEndpoint(ep); err != nil {
			return config.Usagef("--endpoints: %w", err)
		}
	}
	if cfg.StatFile != "" && cfg.Cmd == "pre-upgrade" {
		// Checked before any work: scripts read this file afterwards, and
		// finding it unwritable only after leaders have moved helps nobody.
		f, err := os.OpenFile(cfg.StatFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return config.Usagef("--statfile: %v", err)
		}
		f.Close()
	}
	if cfg.Cmd == "showopstatus" && cfg.Filter != "" && !slices.Contains(opStatuses, cfg.Filter) {
		return config.Usagef("--filter=%q: showopstatus filters by op status, one of %s", cfg.Filter, strings.Join(opStatuses, ", "))
	}
	sdk, err := client.Connect(ctx, client.Options{ZkCluster: cfg.ZkCluster, ZkRootPath: cfg.ZkRootPath, Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer sdk.Close()
	nctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	ns, err := sdk.NameServer(nctx)
	cancel()
	if err != nil {
		return err
	}
	t := &tool{cfg: cfg, cli: sdk, ns: ns, keys: coord.Keys{Root: cfg.ZkRootPath}, out: out}
	switch cfg.Cmd {
	case "showopstatus":
		defer t.warnStrandedAutoFailover(ctx, os.Stderr)
		return t.showOpStatus(ctx)
	case "showtablestatus":
		defer t.warnStrandedAutoFailover(ctx, os.Stderr)
		cli.PrintTable(out, cli.TableStatusHeader, cli.TableStatusRows(t.cli.TableStatuses(cfg.Filter)))
		return nil
	case "pre-upgrade":
		if err := t.stoppableTogether(cfg.Endpoints); err != nil {
			return err
		}
		return t.withAutoFailoverOff(ctx, func() error {
			for _, ep := range cfg.Endpoints {
				if err := t.preUpgrade(ctx, ep); err != nil {
					return err
				}
			}
			return nil
		})
	case "post-upgrade":
		return t.withAutoFailoverOff(ctx, func() error {
			for _, ep := range cfg.Endpoints {
				if err := t.postUpgrade(ctx, ep); err != nil {
					return err
				}
			}
			return nil
		})
	case "recoverdata":
		return t.withAutoFailoverOff(ctx, func() error { return t.recoverData(ctx) })
	case "scaleout":
		return t.withAutoFailoverOff(ctx, func() error { return t.scaleOut(ctx) })
	case "scalein":
		return t.withAutoFailoverOff(ctx, func() error { return t.scaleIn(ctx) })
	}
	return nil
}

// pause waits between two polls, or returns ctx's error once the tool is
// told to stop (SIGINT, SIGTERM), so that a wait never outlives the signal.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

func (t *tool) printf(format string, args ...any) { fmt.Fprintf(t.out, format, args...) }

func rpcErr(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return errors.New(ce.Message())
	}
	return err
}

func (t *tool) showOpStatus(ctx context.Context) error {
	resp, err := t.ns.ShowOpStatus(ctx, connect.NewRequest(&openmldbv1.ShowOpStatusRequest{Db: t.cfg.DB, Pid: -1}))
	if err != nil {
		return rpcErr(err)
	}
	var ops []*openmldbv1.OpInfo
	for _, o := range resp.Msg.Ops {
		if t.cfg.Filter == "" || o.Status == t.cfg.Filter {
			ops = append(ops, o)
		}
	}
	if t.cfg.DB != "" && len(ops) == 0 {
		// A typo would otherwise look like "no ops": say when the database
		// is unknown too (a dropped one's ops are still listed).
		if resp, err := t.cli.Etcd().Get(ctx, t.keys.Database(t.cfg.DB), clientv3.WithCountOnly()); err == nil && resp.Count == 0 {
			return fmt.Errorf("--db=%s: no such database, and no op names it", t.cfg.DB)
		}
	}
	cli.PrintTable(t.out, nsclient.OpStatusHeader, nsclient.OpStatusRows(ops, ""))
	nsclient.PrintOpReasons(t.out, ops)
	return nil
}

// submitRetry bounds how long submit keeps asking for a nameserver leader
// that takes the request: a failover completes in ~0.1 s after a SIGTERM
// and within the session TTL (2 s by default) after a crash.
const submitRetry = 30 * time.Second

// submit sends one op request and returns its op ids. A nameserver that
// stopped leading, or stopped, since the tool found it has not taken the
// request, so the request goes to the leader now; any other error could
// come after the op was recorded, and is returned rather than risk
// submitting it twice.
func (t *tool) submit(ctx context.Context, req *openmldbv1.SubmitOpRequest) ([]uint64, error) {
	deadline := time.Now().Add(submitRetry)
	for {
		resp, err := t.ns.SubmitOp(ctx, connect.NewRequest(req))
		if err == nil {
			return resp.Msg.OpIds, nil
		}
		if !notTaken(err) || time.Now().After(deadline) {
			return nil, rpcErr(err)
		}
		if err := pause(ctx); err != nil {
			return nil, err
		}
		_, _ = t.leader(ctx)
	}
}

// notTaken reports errors that prove the nameserver did not act on the
// request: it says it is not the leader, or it could not be connected to.
func notTaken(err error) bool {
	var ce *connect.Error
	if errors.As(err, &ce) && ce.Meta().Get("x-openmldb-not-leader") != "" {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// waitOps waits until the ops are finished and fails if any did not end kDone.
func (t *tool) waitOps(ctx context.Context, ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	want := map[uint64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	deadline := time.Now().Add(opWait)
	// Leader moves finish in tens of milliseconds and pre-upgrade waits
	// for each before the next: poll soon, then back off to 200 ms for
	// the ops that copy data.
	poll := 20 * time.Millisecond
	for {
		ns, err := t.leader(ctx)
		if err == nil {
			resp, err := ns.ShowOpStatus(ctx, connect.NewRequest(&openmldbv1.ShowOpStatusRequest{Pid: -1}))
			if err == nil {
				pending := 0
				var failed []string
				for _, o := range resp.Msg.Ops {
					if !want[o.OpId] {
						continue
					}
					switch o.Status {
					case "kDone":
					case "kFailed", "kCanceled":
						failed = append(failed, fmt.Sprintf("op %d %s %s pid %d %s: %s", o.OpId, o.OpType, o.Name, o.Pid, o.Status, o.Reason))
					default:
						pending++
					}
				}
				if len(failed) > 0 {
					return errors.New(strings.Join(failed, "; "))
				}
				if pending == 0 {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ops %v not finished after %s (see showopstatus)", ids, opWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
		poll = min(2*poll, 200*time.Millisecond)
	}
}

// leader refreshes the nameserver client (a failover may happen mid-way).
func (t *tool) leader(ctx context.Context) (openmldbv1connect.NameServerClient, error) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ns, err := t.cli.NameServer(cctx)
	if err == nil {
		t.ns = ns
	}
	return ns, err
}

// waitNoOps waits until no op is kInited or kDoing.
func (t *tool) waitNoOps(ctx context.Context) error {
	deadline := time.Now().Add(opWait)
	told := false
	for {
		ns, err := t.leader(ctx)
		if err != nil {
			return err
		}
		resp, err := ns.ShowOpStatus(ctx, connect.NewRequest(&openmldbv1.ShowOpStatusRequest{Pid: -1}))
		if err == nil {
			busy := 0
			for _, o := range resp.Msg.Ops {
				if o.Status == "kInited" || o.Status == "kDoing" {
					busy++
				}
			}
			if busy == 0 {
				return nil
			}
			if !told {
				t.printf("waiting for %d op(s) still running to finish (showopstatus lists them)\n", busy)
				told = true
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ops still running after %s (see showopstatus)", opWait)
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("interrupted while waiting for running ops: %w", err)
		}
	}
}

// Plan is what pre-upgrade did for one endpoint.
type Plan struct {
	Endpoint     string        `json:"endpoint"`
	Created      time.Time     `json:"created"`
	MovedLeaders []PartitionOf `json:"moved_leaders"`
	TempReplicas []PartitionOf `json:"temp_replicas"`
	Unavailable  []PartitionOf `json:"unavailable,omitempty"`
}

// PartitionOf names one partition (and, for a temporary replica, where it was added).
type PartitionOf struct {
	DB      string `json:"db"`
	Table   string `json:"table"`
	TID     uint32 `json:"tid"`
	PID     uint32 `json:"pid"`
	AddedEP string `json:"added_ep,omitempty"`
}

func (t *tool) loadPlan(ctx context.Context, ep string) (*Plan, error) {
	resp, err := t.cli.Etcd().Get(ctx, t.keys.UpgradePlan(ep))
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	var p Plan
	if err := json.Unmarshal(resp.Kvs[0].Value, &p); err != nil {
		return nil, fmt.Errorf("upgrade plan of %s is unreadable: %w", ep, err)
	}
	return &p, nil
}

func (t *tool) savePlan(ctx context.Context, p *Plan) error {
	b, _ := json.Marshal(p)
	_, err := t.cli.Etcd().Put(ctx, t.keys.UpgradePlan(p.Endpoint), string(b))
	return err
}

func (t *tool) appendStat(p *Plan, part PartitionOf) {
	if t.cfg.StatFile == "" {
		return
	}
	f, err := os.OpenFile(t.cfg.StatFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.printf("WARNING: cannot write --statfile: %v\n", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s,%s,%s,%d,%d,%s\n", p.Endpoint, part.DB, part.Table, part.TID, part.PID, part.AddedEP)
}

// partView is a partition as the tool judges it.
type partView struct {
	tm         coord.TableMeta
	pm         coord.PartitionMeta
	leader     string
	liveVoters []string
	voters     int
}

func (t *tool) view(tm coord.TableMeta, pm coord.PartitionMeta) partView {
	v := partView{tm: tm, pm: pm}
	st := t.cli.ReplicaStatuses(tm.TID, pm.PID)
	term := uint64(0)
	for _, r := range pm.Replicas {
		if r.NonVoting {
			continue
		}
		v.voters++
		rs, ok := st[r.Endpoint]
		if ok && !r.Offline {
			v.liveVoters = append(v.liveVoters, r.Endpoint)
		}
		if ok && rs.IsLeader && rs.Term >= term {
			v.leader, term = r.Endpoint, rs.Term
		}
	}
	return v
}

// tempNeeded is how many voters must be added so that the group keeps a
// majority when ep stops.
func tempNeeded(v partView, ep string) int {
	live := len(v.liveVoters)
	for _, e := range v.liveVoters {
		if e == ep {
			live--
		}
	}
	for k := 0; k < 9; k++ {
		if live+k >= (v.voters+k)/2+1 {
			return k
		}
	}
	return 9
}

func (t *tool) tablesSorted() []coord.TableMeta {
	tables := t.cli.Tables("")
	if t.cfg.DB != "" {
		tables = t.cli.Tables(t.cfg.DB)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].TID < tables[j].TID })
	return tables
}

func (t *tool) healthyTablets(ctx context.Context) ([]string, error) {
	resp, err := t.cli.Etcd().Get(ctx, t.keys.TabletAlivePrefix(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, strings.TrimPrefix(string(kv.Key), t.keys.TabletAlivePrefix()))
	}
	sort.Strings(out)
	return out, nil
}

// replicaLoad counts replicas per endpoint.
func (t *tool) replicaLoad() map[string]int {
	load := map[string]int{}
	for _, tm := range t.cli.Tables("") {
		for _, p := range tm.Partitions {
			for _, r := range p.Replicas {
				load[r.Endpoint]++
			}
		}
	}
	return load
}

func holds(pm coord.PartitionMeta, ep string) bool {
	for _, r := range pm.Replicas {
		if r.Endpoint == ep {
			return true
		}
	}
	return false
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
