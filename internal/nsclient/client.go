package nsclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
)

// ErrCommandFailed makes main exit 1 after the client printed why.
var ErrCommandFailed = errors.New("command failed")

// Client is one ns_client session.
type Client struct {
	cfg  *config.Config
	cli  *clientv3.Client
	keys coord.Keys
	out  io.Writer
	http *http.Client
	db   string
	data *client.Client
}

// Commands lists what ns_client understands, for help and errors.
var Commands = []string{"showns", "showtablet", "use", "showdb", "createdb", "dropdb", "showtable", "showtablestatus", "showschema",
	"create", "drop", "put", "get", "scan", "count", "addreplica", "delreplica", "migrate", "changeleader",
	"recovertable", "offlineendpoint", "recoverendpoint", "updatetablealive", "showopstatus", "cancelop", "deleteop",
	"confget", "confset", "help", "quit"}

// Run executes --cmd, or starts a prompt when --interactive is true and no --cmd is given.
func Run(ctx context.Context, cfg *config.Config, in io.Reader, out io.Writer) error {
	oneShot := cfg.Cmd != "" || !cfg.Interactive
	if oneShot && strings.TrimSpace(cfg.Cmd) == "" {
		return config.Usagef("--interactive=false needs --cmd=\"<command>\"")
	}
	etcd, err := coord.Connect(ctx, cfg.ZkCluster, cfg.ZkConnectTimeout)
	if err != nil {
		return err
	}
	defer etcd.Close()
	c := &Client{cfg: cfg, cli: etcd, keys: coord.Keys{Root: cfg.ZkRootPath}, out: out,
		http: &http.Client{Timeout: 10 * time.Second}, db: cfg.Database}
	defer func() {
		if c.data != nil {
			c.data.Close()
		}
	}()
	if oneShot {
		if !c.Exec(ctx, cfg.Cmd) {
			return ErrCommandFailed
		}
		return nil
	}
	cli.RunPrompt(in, out, fmt.Sprintf("%s %s> ", strings.Join(cfg.ZkCluster, ","), cfg.ZkRootPath),
		func(line string) bool { return c.Exec(ctx, line) })
	return nil
}

// Exec runs one command line, prints its result or "Fail to <cmd>. error
// msg: <reason>", and reports success.
func (c *Client) Exec(ctx context.Context, line string) bool {
	fields := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
	if len(fields) == 0 {
		return true
	}
	name := strings.ToLower(fields[0])
	var err error
	switch name {
	case "showns":
		err = c.showNS(ctx)
	case "showtablet":
		err = c.showTablet(ctx)
	case "use", "showdb", "createdb", "dropdb", "showtable", "showtablestatus", "showschema", "create", "drop", "put", "get", "scan", "count":
		err = c.execData(ctx, name, fields[1:])
	case "addreplica", "delreplica", "migrate", "changeleader", "recovertable", "offlineendpoint", "recoverendpoint",
		"updatetablealive", "showopstatus", "cancelop", "deleteop", "confget", "confset":
		err = c.execOps(ctx, name, fields[1:])
	case "help":
		fmt.Fprintln(c.out, "commands: "+strings.Join(Commands, ", "))
	default:
		err = fmt.Errorf("unsupported command %q; commands: %s", fields[0], strings.Join(Commands, ", "))
	}
	if err != nil {
		fmt.Fprintf(c.out, "Fail to %s. error msg: %v\n", name, err)
		return false
	}
	return true
}

type nsEntry struct{ endpoint, role, version string }

// nameservers lists the running nameservers in election order: the first
// is the leader.
func (c *Client) nameservers(ctx context.Context) ([]nsEntry, error) {
	resp, err := c.cli.Get(ctx, c.keys.LeaderPrefix()+"/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("reading nameserver election: %w", err)
	}
	var out []nsEntry
	for i, kv := range resp.Kvs {
		e := nsEntry{endpoint: string(kv.Value), role: "standby", version: "-"}
		if i == 0 {
			e.role = "leader"
		}
		if info, err := c.cli.Get(ctx, c.keys.Nameserver(e.endpoint)); err == nil && len(info.Kvs) > 0 {
			var ni coord.NodeInfo
			if json.Unmarshal(info.Kvs[0].Value, &ni) == nil {
				e.version = ni.Version
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func (c *Client) showNS(ctx context.Context) error {
	list, err := c.nameservers(ctx)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(list))
	for _, e := range list {
		rows = append(rows, []string{e.endpoint, "-", e.role, e.version})
	}
	cli.PrintTable(c.out, []string{"endpoint", "real_endpoint", "role", "version"}, rows)
	return nil
}

// nameserver returns a client for --endpoint when given, else for the
// leader: the running nameserver whose /status says it leads. During a
// failover (a dead leader's key lingers until its lease expires) it waits,
// bounded, for the next leader.
func (c *Client) nameserver(ctx context.Context) (openmldbv1connect.NameServerClient, error) {
	if c.cfg.IsSet("endpoint") {
		return openmldbv1connect.NewNameServerClient(c.http, "http://"+c.cfg.Endpoint), nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, err := c.nameservers(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if c.isLeader(ctx, e.endpoint) {
				return openmldbv1connect.NewNameServerClient(c.http, "http://"+e.endpoint), nil
			}
		}
		if time.Now().After(deadline) {
			if len(list) == 0 {
				return nil, fmt.Errorf("no nameserver is running under %s", c.cfg.ZkRootPath)
			}
			return nil, fmt.Errorf("no nameserver answers as leader (candidates: %d)", len(list))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Client) isLeader(ctx context.Context, ep string) bool {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, "http://"+ep+"/status", nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct {
		IsLeader bool `json:"is_leader"`
	}
	return json.NewDecoder(resp.Body).Decode(&st) == nil && st.IsLeader
}

func (c *Client) showTablet(ctx context.Context) error {
	ns, err := c.nameserver(ctx)
	if err != nil {
		return err
	}
	resp, err := ns.ShowTablet(ctx, connect.NewRequest(&openmldbv1.ShowTabletRequest{}))
	if err != nil {
		return rpcError(err)
	}
	now := time.Now()
	var rows [][]string
	for _, t := range resp.Msg.Tablets {
		rows = append(rows, []string{t.Endpoint, t.RealEndpoint, t.State,
			cli.Age(now.Sub(time.UnixMilli(t.StateSinceMs))), t.Version})
	}
	cli.PrintTable(c.out, []string{"endpoint", "real_endpoint", "state", "age", "version"}, rows)
	return nil
}

// rpcError strips connect's code prefix so operators read the server's reason.
func rpcError(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return errors.New(ce.Message())
	}
	return err
}
