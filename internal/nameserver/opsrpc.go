package nameserver

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
)

// manualRefusedWhenAuto lists the ops OpenMLDB refuses while auto_failover is on.
var manualRefusedWhenAuto = map[string]bool{OpChangeLeader: true, OpMigrate: true, OpRecoverTable: true, OpUpdatePartitionStatus: true}

func refuse(format string, args ...any) error {
	return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf(format, args...))
}

// SubmitOp validates a request and records one op per partition.
func (s *Server) SubmitOp(ctx context.Context, req *connect.Request[openmldbv1.SubmitOpRequest]) (*connect.Response[openmldbv1.SubmitOpResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	m := req.Msg
	tasks := tasksFor(m.OpType)
	if tasks == nil {
		return nil, invalid("unknown op type %q", m.OpType)
	}
	if manualRefusedWhenAuto[m.OpType] && s.autoFailover(ctx) {
		return nil, refuse("auto_failover is enabled; run `confset auto_failover false` first")
	}
	tm, _, err := s.tableMeta(ctx, m.Db, m.Table)
	if errors.Is(err, errNoTable) {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("table %s does not exist in database %s", m.Table, m.Db))
	} else if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	if len(m.Pids) == 0 {
		return nil, invalid("no partition given")
	}
	needHealthy := func(ep string) error {
		if _, ok := s.isHealthy(ctx, ep); !ok {
			return refuse("endpoint %s is not a healthy tablet", ep)
		}
		return nil
	}
	var ops []*Op
	for _, pid := range m.Pids {
		if int(pid) >= len(tm.Partitions) {
			return nil, invalid("pid %d out of range: %s has %d partitions", pid, m.Table, len(tm.Partitions))
		}
		pm := tm.Partitions[pid]
		op := &Op{Type: m.OpType, DB: m.Db, Table: m.Table, TID: tm.TID, PID: pid, Tasks: tasks, Endpoint: m.Endpoint, Src: m.Src, Dst: m.Dst, Alive: m.Alive}
		_, has := replicaOn(pm, m.Endpoint)
		switch m.OpType {
		case OpAddReplica:
			if err := needHealthy(m.Endpoint); err != nil {
				return nil, err
			}
			if has {
				return nil, refuse("%s already holds pid %d of %s", m.Endpoint, pid, m.Table)
			}
		case OpDelReplica:
			if !has {
				return nil, refuse("%s holds no replica of pid %d of %s", m.Endpoint, pid, m.Table)
			}
			if len(pm.Replicas) == 1 {
				return nil, refuse("pid %d of %s has a single replica; deleting it would lose the data", pid, m.Table)
			}
			if leader, err := s.observedLeader(ctx, tm.TID, pid); err == nil && leader == m.Endpoint {
				return nil, refuse("%s is the leader of pid %d of %s; change the leader first", m.Endpoint, pid, m.Table)
			}
		case OpMigrate:
			if m.Src == m.Dst {
				return nil, refuse("src and dst are the same endpoint %s", m.Src)
			}
			if _, ok := replicaOn(pm, m.Src); !ok {
				return nil, refuse("src %s holds no replica of pid %d of %s", m.Src, pid, m.Table)
			}
			if _, ok := replicaOn(pm, m.Dst); ok {
				return nil, refuse("dst %s already holds pid %d of %s", m.Dst, pid, m.Table)
			}
			if err := needHealthy(m.Dst); err != nil {
				return nil, err
			}
		case OpChangeLeader:
			if m.Endpoint != "auto" {
				if !has {
					return nil, refuse("%s holds no replica of pid %d of %s", m.Endpoint, pid, m.Table)
				}
				if err := needHealthy(m.Endpoint); err != nil {
					return nil, err
				}
			}
		case OpUpdatePartitionStatus:
			if !has {
				return nil, refuse("%s holds no replica of pid %d of %s", m.Endpoint, pid, m.Table)
			}
		case OpRecoverTable:
			if !has {
				return nil, refuse("%s holds no replica of pid %d of %s", m.Endpoint, pid, m.Table)
			}
			if err := needHealthy(m.Endpoint); err != nil {
				return nil, err
			}
		}
		ops = append(ops, op)
	}
	ids, err := s.ops.submit(ctx, ops)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	return connect.NewResponse(&openmldbv1.SubmitOpResponse{OpIds: ids}), nil
}

// ShowOpStatus lists ops, optionally of one table and partition.
func (s *Server) ShowOpStatus(ctx context.Context, req *connect.Request[openmldbv1.ShowOpStatusRequest]) (*connect.Response[openmldbv1.ShowOpStatusResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	m := req.Msg
	resp := &openmldbv1.ShowOpStatusResponse{}
	for _, op := range s.ops.list() {
		if m.Db != "" && op.DB != m.Db || m.Table != "" && op.Table != m.Table || m.Pid >= 0 && uint32(m.Pid) != op.PID && m.Table != "" {
			continue
		}
		info := &openmldbv1.OpInfo{OpId: op.ID, OpType: op.Type, Name: op.Table, Pid: op.PID, Status: op.Status,
			StartTimeMs: op.Created.UnixMilli(), CurTask: op.CurTask(), Reason: op.Reason, Db: op.DB}
		if !op.Started.IsZero() {
			end := op.Ended
			if end.IsZero() {
				end = timeNow()
			}
			info.ExecuteTimeMs = end.Sub(op.Started).Milliseconds()
		}
		if !op.Ended.IsZero() {
			info.EndTimeMs = op.Ended.UnixMilli()
		}
		resp.Ops = append(resp.Ops, info)
	}
	return connect.NewResponse(resp), nil
}

// CancelOp stops an unfinished op between tasks.
func (s *Server) CancelOp(ctx context.Context, req *connect.Request[openmldbv1.CancelOpRequest]) (*connect.Response[openmldbv1.CancelOpResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	if err := s.ops.cancel(ctx, req.Msg.OpId); err != nil {
		return nil, refuse("%v", err)
	}
	return connect.NewResponse(&openmldbv1.CancelOpResponse{}), nil
}

// DeleteOp forgets finished ops.
func (s *Server) DeleteOp(ctx context.Context, req *connect.Request[openmldbv1.DeleteOpRequest]) (*connect.Response[openmldbv1.DeleteOpResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	st := req.Msg.Status
	if req.Msg.OpId == 0 && st != OpDone && st != OpFailed && st != OpCanceled {
		return nil, invalid("deleteop takes an op id or one of done, failed, canceled")
	}
	n, err := s.ops.delete(ctx, req.Msg.OpId, st)
	if err != nil {
		return nil, refuse("%v", err)
	}
	return connect.NewResponse(&openmldbv1.DeleteOpResponse{Deleted: uint32(n)}), nil
}

// ConfGet returns the persisted settings.
func (s *Server) ConfGet(ctx context.Context, req *connect.Request[openmldbv1.ConfGetRequest]) (*connect.Response[openmldbv1.ConfGetResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	if req.Msg.Key != "" && req.Msg.Key != "auto_failover" {
		return nil, invalid("unknown conf key %q (known: auto_failover)", req.Msg.Key)
	}
	return connect.NewResponse(&openmldbv1.ConfGetResponse{Conf: map[string]string{
		"auto_failover": strconv.FormatBool(s.autoFailover(ctx))}}), nil
}

// ConfSet changes a persisted setting.
func (s *Server) ConfSet(ctx context.Context, req *connect.Request[openmldbv1.ConfSetRequest]) (*connect.Response[openmldbv1.ConfSetResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	if req.Msg.Key != "auto_failover" {
		return nil, invalid("unknown conf key %q (known: auto_failover)", req.Msg.Key)
	}
	v, err := strconv.ParseBool(req.Msg.Value)
	if err != nil {
		return nil, invalid("auto_failover takes true or false, not %q", req.Msg.Value)
	}
	if _, err := s.cli.Put(ctx, s.keys.Config("auto_failover"), strconv.FormatBool(v)); err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	s.log.Info("conf changed", "auto_failover", v)
	return connect.NewResponse(&openmldbv1.ConfSetResponse{}), nil
}

// seedConfig writes --auto_failover once, when no value is persisted yet.
func (s *Server) seedConfig(ctx context.Context) {
	key := s.keys.Config("auto_failover")
	_, _ = s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, strconv.FormatBool(s.cfg.AutoFailover))).Commit()
}

// EndpointOp takes every replica on an endpoint offline, or recovers them.
func (s *Server) EndpointOp(ctx context.Context, req *connect.Request[openmldbv1.EndpointOpRequest]) (*connect.Response[openmldbv1.SubmitOpResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	m := req.Msg
	if m.Action != "offline" && m.Action != "recover" {
		return nil, invalid("unknown endpoint action %q (offline or recover)", m.Action)
	}
	if s.autoFailover(ctx) {
		return nil, refuse("auto_failover is enabled; run `confset auto_failover false` first")
	}
	if m.Action == "recover" {
		if _, ok := s.isHealthy(ctx, m.Endpoint); !ok {
			return nil, refuse("endpoint %s is not a healthy tablet", m.Endpoint)
		}
	}
	ops, err := s.endpointOps(ctx, m.Action, m.Endpoint, m.NeedRestore)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	if len(ops) == 0 {
		return nil, refuse("endpoint %s holds no replica", m.Endpoint)
	}
	ids, err := s.ops.submit(ctx, ops)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	return connect.NewResponse(&openmldbv1.SubmitOpResponse{OpIds: ids}), nil
}

// endpointOps builds the ops for every partition with a replica on ep.
func (s *Server) endpointOps(ctx context.Context, action, ep string, needRestore bool) ([]*Op, error) {
	metas, err := s.tableMetas(ctx)
	if err != nil {
		return nil, err
	}
	var ops []*Op
	for _, tm := range metas {
		for _, p := range tm.Partitions {
			r, ok := replicaOn(p, ep)
			if !ok {
				continue
			}
			base := Op{DB: tm.Table.DB, Table: tm.Table.Name, TID: tm.TID, PID: p.PID}
			switch action {
			case "offline":
				if r.Offline {
					continue
				}
				op := base
				op.Type, op.Src, op.Tasks = OpOfflineReplica, ep, tasksFor(OpOfflineReplica)
				ops = append(ops, &op)
			case "recover":
				op := base
				op.Type, op.Endpoint, op.Tasks = OpRecoverTable, ep, tasksFor(OpRecoverTable)
				ops = append(ops, &op)
				if needRestore && p.Replicas[0].Endpoint == ep {
					cl := base
					cl.Type, cl.Endpoint, cl.Tasks = OpChangeLeader, ep, tasksFor(OpChangeLeader)
					ops = append(ops, &cl)
				}
			}
		}
	}
	return ops, nil
}
