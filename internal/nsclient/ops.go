package nsclient

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/internal/cli"
)

// ParsePidGroup accepts "3", "1,3,5", "1-5" and mixes like "1-3,7".
func ParsePidGroup(s string) ([]uint32, error) {
	var out []uint32
	seen := map[uint32]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("pid group %q: %q is not a partition id", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil || b < a {
				return nil, fmt.Errorf("pid group %q: bad range %q", s, part)
			}
		}
		for p := a; p <= b; p++ {
			if !seen[uint32(p)] {
				seen[uint32(p)] = true
				out = append(out, uint32(p))
			}
		}
	}
	return out, nil
}

var opReplies = map[string]string{
	"addreplica": "AddReplica ok", "delreplica": "DelReplica ok", "migrate": "partition migrate ok",
	"changeleader": "change leader ok", "recovertable": "recover table ok",
}

func (c *Client) execOps(ctx context.Context, name string, args []string) error {
	ns, err := c.nameserver(ctx)
	if err != nil {
		return err
	}
	submit := func(req *openmldbv1.SubmitOpRequest) error {
		req.Db = c.db
		if db, t, ok := strings.Cut(req.Table, "."); ok {
			req.Db, req.Table = db, t
		}
		if req.Db == "" {
			return c.needDB()
		}
		if _, err := ns.SubmitOp(ctx, connect.NewRequest(req)); err != nil {
			return rpcError(err)
		}
		fmt.Fprintln(c.out, opReplies[name])
		return nil
	}
	usage := map[string]string{
		"addreplica": "addreplica <table> <pid_group> <endpoint>", "delreplica": "delreplica <table> <pid_group> <endpoint>",
		"migrate": "migrate <src_endpoint> <table> <pid_group> <dst_endpoint>", "changeleader": "changeleader <table> <pid> [<endpoint>|auto]",
		"recovertable": "recovertable <table> <pid> <endpoint>", "cancelop": "cancelop <op_id>",
		"deleteop": "deleteop <op_id>|done|failed|canceled", "confset": "confset auto_failover true|false",
	}
	need := func(n int) error {
		if len(args) < n {
			return fmt.Errorf("usage: %s", usage[name])
		}
		return nil
	}
	switch name {
	case "addreplica", "delreplica":
		if err := need(3); err != nil {
			return err
		}
		pids, err := ParsePidGroup(args[1])
		if err != nil {
			return err
		}
		typ := "kAddReplicaOP"
		if name == "delreplica" {
			typ = "kDelReplicaOP"
		}
		return submit(&openmldbv1.SubmitOpRequest{OpType: typ, Table: args[0], Pids: pids, Endpoint: args[2]})
	case "migrate":
		if err := need(4); err != nil {
			return err
		}
		pids, err := ParsePidGroup(args[2])
		if err != nil {
			return err
		}
		return submit(&openmldbv1.SubmitOpRequest{OpType: "kMigrateOP", Table: args[1], Pids: pids, Src: args[0], Dst: args[3]})
	case "changeleader", "recovertable":
		min := 2
		if name == "recovertable" {
			min = 3
		}
		if err := need(min); err != nil {
			return err
		}
		pid, err := strconv.ParseUint(args[1], 10, 32)
		if err != nil {
			return fmt.Errorf("pid %q is not a number; usage: %s", args[1], usage[name])
		}
		ep := "auto"
		if len(args) > 2 {
			ep = args[2]
		}
		typ := "kChangeLeaderOP"
		if name == "recovertable" {
			typ = "kRecoverTableOP"
		}
		return submit(&openmldbv1.SubmitOpRequest{OpType: typ, Table: args[0], Pids: []uint32{uint32(pid)}, Endpoint: ep})
	case "offlineendpoint", "recoverendpoint":
		if len(args) < 1 {
			return fmt.Errorf("usage: %s <endpoint>%s", name, map[bool]string{true: " [need_restore]"}[name == "recoverendpoint"])
		}
		req := &openmldbv1.EndpointOpRequest{Action: "offline", Endpoint: args[0]}
		if name == "recoverendpoint" {
			req.Action = "recover"
			if len(args) > 1 {
				if args[1] != "need_restore" && args[1] != "true" && args[1] != "false" {
					return fmt.Errorf("usage: recoverendpoint <endpoint> [need_restore]")
				}
				req.NeedRestore = args[1] != "false"
			}
		}
		if _, err := ns.EndpointOp(ctx, connect.NewRequest(req)); err != nil {
			return rpcError(err)
		}
		fmt.Fprintf(c.out, "%s endpoint ok\n", strings.TrimSuffix(name, "endpoint"))
	case "updatetablealive":
		if len(args) < 4 || (args[3] != "yes" && args[3] != "no") {
			return fmt.Errorf("usage: updatetablealive <table> <pid|*> <endpoint> yes|no")
		}
		var pids []uint32
		if args[1] == "*" {
			sdk, err := c.sdk(ctx)
			if err != nil {
				return err
			}
			db, tn, err := c.splitTable(args[0])
			if err != nil {
				return err
			}
			t, err := sdk.Table(db, tn)
			if err != nil {
				return err
			}
			for p := 0; p < t.PartitionNum; p++ {
				pids = append(pids, uint32(p))
			}
		} else {
			p, err := strconv.ParseUint(args[1], 10, 32)
			if err != nil {
				return fmt.Errorf("pid %q is not a number or *", args[1])
			}
			pids = []uint32{uint32(p)}
		}
		opReplies[name] = "update ok"
		return submit(&openmldbv1.SubmitOpRequest{OpType: "kUpdatePartitionStatusOP", Table: args[0], Pids: pids, Endpoint: args[2], Alive: args[3] == "yes"})
	case "showopstatus":
		req := &openmldbv1.ShowOpStatusRequest{Db: c.db, Pid: -1}
		if len(args) > 0 {
			req.Table = args[0]
			if db, t, ok := strings.Cut(args[0], "."); ok {
				req.Db, req.Table = db, t
			}
		}
		if len(args) > 1 {
			p, err := strconv.ParseUint(args[1], 10, 32)
			if err != nil {
				return fmt.Errorf("pid %q is not a number", args[1])
			}
			req.Pid = int32(p)
		}
		resp, err := ns.ShowOpStatus(ctx, connect.NewRequest(req))
		if err != nil {
			return rpcError(err)
		}
		cli.PrintTable(c.out, OpStatusHeader, OpStatusRows(resp.Msg.Ops, ""))
		PrintOpReasons(c.out, resp.Msg.Ops)
	case "cancelop":
		if err := need(1); err != nil {
			return err
		}
		id, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil {
			return fmt.Errorf("op id %q is not a number", args[0])
		}
		if _, err := ns.CancelOp(ctx, connect.NewRequest(&openmldbv1.CancelOpRequest{OpId: id})); err != nil {
			return rpcError(err)
		}
		fmt.Fprintln(c.out, "Cancel op ok")
	case "deleteop":
		if err := need(1); err != nil {
			return err
		}
		req := &openmldbv1.DeleteOpRequest{}
		switch args[0] {
		case "done", "failed", "canceled":
			req.Status = "k" + strings.ToUpper(args[0][:1]) + args[0][1:]
		default:
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("usage: %s", usage[name])
			}
			req.OpId = id
		}
		resp, err := ns.DeleteOp(ctx, connect.NewRequest(req))
		if err != nil {
			return rpcError(err)
		}
		fmt.Fprintf(c.out, "Delete op ok (%d deleted)\n", resp.Msg.Deleted)
	case "confget":
		key := ""
		if len(args) > 0 {
			key = args[0]
		}
		resp, err := ns.ConfGet(ctx, connect.NewRequest(&openmldbv1.ConfGetRequest{Key: key}))
		if err != nil {
			return rpcError(err)
		}
		var rows [][]string
		for k, v := range resp.Msg.Conf {
			rows = append(rows, []string{k, v})
		}
		cli.PrintTable(c.out, []string{"key", "value"}, rows)
	case "confset":
		if err := need(2); err != nil {
			return err
		}
		if _, err := ns.ConfSet(ctx, connect.NewRequest(&openmldbv1.ConfSetRequest{Key: args[0], Value: args[1]})); err != nil {
			return rpcError(err)
		}
		if args[0] == "auto_failover" {
			// An operator's explicit choice outranks an ops-tool run that
			// died meaning to switch it back on.
			_, _ = c.cli.Delete(ctx, c.keys.AutoFailoverRestore())
		}
		fmt.Fprintf(c.out, "set %s ok\n", args[0])
	}
	return nil
}

// OpStatusHeader is showopstatus's columns, as OpenMLDB prints them.
var OpStatusHeader = []string{"op_id", "op_type", "name", "pid", "status", "start_time", "execute_time", "end_time", "cur_task", "for_replica_cluster"}

// OpStatusRows formats ops; a non-empty status filter keeps only that status.
func OpStatusRows(ops []*openmldbv1.OpInfo, status string) [][]string {
	ts := func(ms int64) string {
		if ms == 0 {
			return "-"
		}
		return time.UnixMilli(ms).Format("20060102150405")
	}
	var rows [][]string
	for _, o := range ops {
		if status != "" && o.Status != status {
			continue
		}
		rows = append(rows, []string{strconv.FormatUint(o.OpId, 10), o.OpType, o.Name, strconv.Itoa(int(o.Pid)), o.Status,
			ts(o.StartTimeMs), fmt.Sprintf("%ds", o.ExecuteTimeMs/1000), ts(o.EndTimeMs), o.CurTask, "no"})
	}
	return rows
}

// PrintOpReasons lists why failed or canceled ops ended, after a blank line.
func PrintOpReasons(w io.Writer, ops []*openmldbv1.OpInfo) {
	first := true
	for _, o := range ops {
		if o.Reason == "" {
			continue
		}
		if first {
			fmt.Fprintln(w)
			first = false
		}
		fmt.Fprintf(w, "op %d %s: %s\n", o.OpId, o.Status, o.Reason)
	}
}
