package tablet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/internal/codec"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/replication"
	"github.com/openmldb-go/openmldb/internal/storage"
	"github.com/openmldb-go/openmldb/schema"
)

// hosted is one partition replica this tablet runs.
type hosted struct {
	myID    uint64 // this replica's Raft id (per placement, not per tablet)
	rep     *replica
	meta    coord.PartitionMeta
	batch   *batcher
	created time.Time
	// copySnapshot is the index of the snapshot this replica took, as
	// leader, for the last replica added to its group (0: none).
	copySnapshot atomic.Uint64
	// movingTo, on a leader handing over leadership, is the target's
	// endpoint from the transfer until this replica sees a new leader
	// (or the attempt's deadline): writes go there at once.
	movingTo atomic.Pointer[string]
	// leadExpectedUntil (unix ns), on a transfer target, is until when
	// writes reaching it wait for its election instead of being refused.
	leadExpectedUntil atomic.Int64
	// armedAt (unix ns) is when this replica was last told it is a
	// transfer target, until the first write it commits as the new leader
	// logs how long the hand-over took on this side.
	armedAt atomic.Int64
	// appliedAt and leaderAt (unix ns) time that hand-over's steps here:
	// the target had applied the leader's log, and dragonboat reported
	// this replica as leader.
	appliedAt, leaderAt atomic.Int64
}

func (h *hosted) movingToEndpoint() string {
	if ep := h.movingTo.Load(); ep != nil {
		return *ep
	}
	return ""
}

// data is the tablet's data plane: the replicas it hosts, reconciled with
// the table metadata in etcd.
type data struct {
	s     *Server
	host  *replication.Host
	mu    sync.RWMutex
	parts map[uint64]*hosted // by shard id
	// tables by tid, for endpoint lookups of leader ids
	tables map[uint32]coord.TableMeta
	// leader changes to report
	leaderCh chan struct{}
	deploy   deployState
	// forgotAtStart says why every replica the metadata already placed
	// here at the first look lost its Raft state, or is empty: the Raft
	// directory did not exist when the tablet started (a replaced or
	// wiped disk), or its log store did (the log and the votes of every
	// replica). Replicas in either case are forgotten, see lost.
	forgotAtStart string
	// lost holds those replicas (shard -> replica id and why), found at
	// the first reconcile, with any single replica whose Raft state is
	// missing from a log store that survived (replication.Host.Forgot).
	// None is started under its old identity: a Raft voter that forgot
	// its log and votes must not rejoin as itself (the group's leader
	// panics it on the first heartbeat, and it could help elect a leader
	// that lacks acknowledged writes). kRecoverTableOP (recoverdata)
	// replaces each with a new replica copied from the leader.
	lost       map[uint64]lostReplica
	warned     map[uint64]bool
	reconciled bool
}

type lostReplica struct {
	replicaID uint64
	why       string
}

// hostedReplicas copies the list of replicas, so callers iterate without the lock.
func (d *data) hostedReplicas() []*hosted {
	d.mu.RLock()
	defer d.mu.RUnlock()
	list := make([]*hosted, 0, len(d.parts))
	for _, h := range d.parts {
		list = append(list, h)
	}
	return list
}

func (d *data) get(tid, pid uint32) (*hosted, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	h := d.parts[replication.ShardID(tid, pid)]
	if h == nil {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("%w: tid %d pid %d on %s", replication.ErrNoShard, tid, pid, d.s.cfg.Endpoint))
	}
	return h, nil
}

// leaderEndpoint names the group's leader as this tablet knows it.
func (d *data) leaderEndpoint(h *hosted) string {
	id, _, ok := d.host.Leader(h.rep.shardID)
	if !ok {
		return ""
	}
	return d.replicaEndpoint(h, id)
}

// replicaEndpoint is the tablet endpoint metadata names for a replica id of
// h's group ("" if none). h.meta is replaced under d.mu by reconcile.
func (d *data) replicaEndpoint(h *hosted, replicaID uint64) string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, r := range h.meta.Replicas {
		if r.ReplicaID == replicaID {
			return r.Endpoint
		}
	}
	return ""
}

func (d *data) checkLeader(h *hosted) error {
	id, _, ok := d.host.Leader(h.rep.shardID)
	if ok && id == h.myID {
		return nil
	}
	return d.notLeader(h, d.leaderEndpoint(h))
}

// notLeader is the answer of a replica that does not lead: the leader it
// knows (retry there at once), or none yet.
func (d *data) notLeader(h *hosted, leader string) error {
	if leader == "" {
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("%w: tid %d pid %d has no leader yet", replication.ErrUnavailable, h.rep.tid, h.rep.pid))
	}
	return leaderHint(fmt.Errorf("%w: tid %d pid %d, leader is %s", replication.ErrNotLeader, h.rep.tid, h.rep.pid, leader), leader)
}

// leaderHint is a "not leader" answer that sends the client to ep at once.
func leaderHint(cause error, leader string) error {
	err := connect.NewError(connect.CodeFailedPrecondition, cause)
	err.Meta().Set("x-openmldb-leader", leader)
	err.Meta().Set("x-openmldb-not-leader", "1")
	return err
}

func rpcErr(err error) error {
	var ce *connect.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case errors.Is(err, replication.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.Is(err, replication.ErrNoShard):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, storage.ErrNoIndex), errors.Is(err, codec.ErrCorrupt):
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	return connect.NewError(connect.CodeInternal, err)
}

// leadExpectedFor is how long a transfer target holds writes for its
// election: dragonboat's transfer gives up after an election timeout (1 s).
const leadExpectedFor = time.Second

// maxStatusWaitMs bounds GetTableStatus's wait_ms.
const maxStatusWaitMs = 5000

// Put validates the rows and commits them through the partition's group.
func (d *data) Put(ctx context.Context, req *connect.Request[openmldbv1.PutRequest]) (*connect.Response[openmldbv1.PutResponse], error) {
	m := req.Msg
	received := time.Now()
	h, err := d.get(m.Tid, m.Pid)
	if err != nil {
		return nil, err
	}
	if len(m.Rows) != len(m.Ids) {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%d rows but %d request ids", len(m.Rows), len(m.Ids)))
	}
	for i, row := range m.Rows {
		if _, err := codec.Decode(h.rep.table.Columns, row); err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("row %d: %w", i, err))
		}
	}
	if ep := h.movingToEndpoint(); ep != "" {
		return nil, leaderHint(fmt.Errorf("%w: tid %d pid %d, leadership is moving to %s", replication.ErrNotLeader, h.rep.tid, h.rep.pid, ep), ep)
	}
	led, err := d.awaitLeadership(ctx, h)
	if err != nil {
		return nil, err
	}
	w := &putWork{ctx: ctx, rows: m.Rows, done: make(chan putResult, 1)}
	for _, id := range m.Ids {
		w.ids = append(w.ids, requestID{id.GetClient(), id.GetSeq()})
	}
	queued := time.Now()
	res := h.batch.submit(w)
	d.logSlowWrite(h, w, res, received, queued)
	var moving *errMoving
	if errors.As(res.err, &moving) {
		return nil, leaderHint(fmt.Errorf("tid %d pid %d: %w", h.rep.tid, h.rep.pid, res.err), moving.endpoint)
	}
	if res.err != nil {
		// Leadership moved while the write waited or was proposed: name
		// the new leader so the client retries there at once (the retry
		// carries the same request ids, so a write that did commit here
		// is not applied twice).
		if lerr := d.checkLeader(h); lerr != nil {
			return nil, lerr
		}
		return nil, rpcErr(res.err)
	}
	if !led.IsZero() {
		if armed := h.armedAt.Swap(0); armed != 0 {
			// The hand-over as this side saw it, each step timed from
			// when the old leader asked this replica to catch up: what a
			// write-latency spike at a leader move is made of.
			at := time.Unix(0, armed)
			since := func(ns int64) any {
				if ns == 0 {
					return "-" // not seen (an older old leader, or the event still queued)
				}
				return time.Unix(0, ns).Sub(at).Round(100 * time.Microsecond)
			}
			d.s.log.Info("first write committed as the new leader", "tid", h.rep.tid, "pid", h.rep.pid,
				"caught_up", since(h.appliedAt.Load()), "became_leader", since(h.leaderAt.Load()),
				"committed", time.Since(at).Round(100*time.Microsecond))
		}
	}
	return connect.NewResponse(&openmldbv1.PutResponse{Applied: uint32(res.applied)}), nil
}

// logSlowWrite logs a write that spent longer than --slow_write_threshold
// in this tablet, split into where it went: before the queue (validation,
// waiting for an election this replica was handed), in the queue (the
// batch before it, a paused committer), and in Raft (log append, the
// followers' acknowledgements, apply).
func (d *data) logSlowWrite(h *hosted, w *putWork, res putResult, received, queued time.Time) {
	limit := d.s.cfg.SlowWriteThreshold
	if limit <= 0 {
		return
	}
	now := time.Now()
	total := now.Sub(received)
	if total < limit {
		return
	}
	ms := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	attrs := []any{"tid", h.rep.tid, "pid", h.rep.pid, "rows", len(w.rows), "total", ms(total), "before_queue", ms(queued.Sub(received))}
	if res.proposedAt.IsZero() {
		attrs = append(attrs, "in_queue", ms(now.Sub(queued)), "raft", "-")
	} else {
		attrs = append(attrs, "in_queue", ms(res.proposedAt.Sub(queued)), "raft", ms(now.Sub(res.proposedAt)), "batch_rows", res.batchRows)
	}
	if res.err != nil {
		attrs = append(attrs, "err", res.err)
	}
	d.s.log.Warn("slow write", attrs...)
}

// awaitLeadership is checkLeader for writes, except on a replica that is
// being handed leadership (leadExpectedUntil): there a write waits for the
// election, so that the writes the old leader sends over are proposed the
// moment it is won, instead of going back and forth while it runs.
// It returns when the wait ended in this replica's leadership (zero if
// there was no wait).
func (d *data) awaitLeadership(ctx context.Context, h *hosted) (time.Time, error) {
	until := time.Unix(0, h.leadExpectedUntil.Load())
	if !time.Now().Before(until) {
		return time.Time{}, d.checkLeader(h)
	}
	_, startTerm, _ := d.host.Leader(h.rep.shardID)
	for {
		id, term, ok := d.host.Leader(h.rep.shardID)
		switch {
		case ok && id == h.myID:
			return time.Now(), nil
		case ok && term > startTerm:
			return time.Time{}, d.checkLeader(h) // someone else won
		case !time.Now().Before(until), ctx.Err() != nil:
			return time.Time{}, d.checkLeader(h)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// Scan reads one key's rows from the leader (or any replica with allow_follower).
func (d *data) Scan(ctx context.Context, req *connect.Request[openmldbv1.ScanRequest]) (*connect.Response[openmldbv1.ScanResponse], error) {
	m := req.Msg
	h, err := d.get(m.Tid, m.Pid)
	if err != nil {
		return nil, err
	}
	if !m.AllowFollower {
		if err := d.checkLeader(h); err != nil {
			return nil, err
		}
	}
	if m.Linearizable {
		if err := d.host.ReadIndex(ctx, h.rep.shardID); err != nil {
			return nil, rpcErr(err)
		}
	}
	rows, err := h.rep.part.Scan(m.Key, storage.ScanOptions{Index: m.Index, From: m.From, To: m.To, Limit: int(m.Limit), AtTS: m.AtTs}, time.Now())
	if err != nil {
		return nil, rpcErr(err)
	}
	resp := &openmldbv1.ScanResponse{}
	for _, r := range rows {
		resp.Rows = append(resp.Rows, r.Data)
		resp.Ts = append(resp.Ts, r.TS)
	}
	return connect.NewResponse(resp), nil
}

// Delete removes a key's rows through the group.
func (d *data) Delete(ctx context.Context, req *connect.Request[openmldbv1.DeleteRequest]) (*connect.Response[openmldbv1.DeleteResponse], error) {
	m := req.Msg
	h, err := d.get(m.Tid, m.Pid)
	if err != nil {
		return nil, err
	}
	if _, err := h.rep.part.IndexPos(m.Index); err != nil {
		return nil, rpcErr(err)
	}
	if err := d.checkLeader(h); err != nil {
		return nil, err
	}
	cmd := deleteCmd{index: m.Index, key: m.Key}
	if m.Id != nil {
		cmd.id = requestID{m.Id.Client, m.Id.Seq}
	}
	n, _, err := d.host.Propose(ctx, h.rep.shardID, encodeDelete(cmd))
	if err != nil {
		return nil, rpcErr(err)
	}
	return connect.NewResponse(&openmldbv1.DeleteResponse{Deleted: uint32(n)}), nil
}

// GetTableStatus reports this tablet's replicas.
func (d *data) GetTableStatus(ctx context.Context, req *connect.Request[openmldbv1.GetTableStatusRequest]) (*connect.Response[openmldbv1.GetTableStatusResponse], error) {
	m := req.Msg
	var list []*hosted
	for _, h := range d.hostedReplicas() {
		if m.Tid == 0 || (h.rep.tid == m.Tid && h.rep.pid == m.Pid) {
			list = append(list, h)
		}
	}
	if m.WaitOffset > 0 && m.Tid != 0 && len(list) == 1 {
		h := list[0]
		if m.TransferTarget {
			h.leadExpectedUntil.Store(time.Now().Add(leadExpectedFor).UnixNano())
			// A hand-over's steps are timed afresh: a step this one does not
			// reach must not show the previous hand-over's time.
			h.appliedAt.Store(0)
			h.leaderAt.Store(0)
			h.armedAt.Store(time.Now().UnixNano())
		}
		h.rep.waitApplied(ctx, m.WaitOffset, time.Duration(min(m.WaitMs, maxStatusWaitMs))*time.Millisecond)
		if m.TransferTarget {
			h.appliedAt.Store(time.Now().UnixNano())
		}
	}
	resp := &openmldbv1.GetTableStatusResponse{}
	now := time.Now()
	for _, h := range list {
		st := h.rep.part.Stats()
		ps := &openmldbv1.PartitionStatus{Tid: h.rep.tid, Pid: h.rep.pid, Mode: "kTableFollower", State: "kTableNormal",
			Offset: h.rep.applied.Load(), RecordCnt: uint64(st.Rows), Memused: uint64(st.MemoryBytes)}
		if ix := h.rep.table.Indexes[0]; true {
			ps.Ttl = ix.TTLString()
			ps.EnableExpire = ix.AbsTTL > 0 || ix.LatTTL > 0
		}
		if id, term, ok := d.host.Leader(h.rep.shardID); ok {
			ps.LeaderReplicaId, ps.Term = id, term
			if id == h.myID {
				ps.Mode = "kTableLeader"
			}
		} else {
			ps.State = "kTableLoading"
		}
		if m.WithChecksum {
			ps.Checksum = h.rep.checksum(now)
		}
		for _, ix := range h.rep.part.Table().Indexes {
			ps.Indexes = append(ps.Indexes, ix.Name)
		}
		resp.Partitions = append(resp.Partitions, ps)
	}
	return connect.NewResponse(resp), nil
}

// reconcile starts replicas that metadata places here and stops those it
// no longer places here, then keeps doing so as metadata changes.
func (d *data) watchTables(ctx context.Context) error {
	keys := d.s.keys
	for ctx.Err() == nil {
		resp, err := d.s.cli.Get(ctx, keys.TablePrefix(), clientv3.WithPrefix())
		if err != nil {
			d.s.log.Warn("listing tables", "err", err)
			time.Sleep(time.Second)
			continue
		}
		metas := map[uint32]coord.TableMeta{}
		for _, kv := range resp.Kvs {
			var tm coord.TableMeta
			if err := json.Unmarshal(kv.Value, &tm); err != nil {
				d.s.log.Warn("unreadable table meta", "key", string(kv.Key), "err", err)
				continue
			}
			metas[tm.TID] = tm
		}
		d.reconcile(ctx, metas)
		wch := d.s.cli.Watch(clientv3.WithRequireLeader(ctx), keys.TablePrefix(), clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1), clientv3.WithPrevKV())
		for wr := range wch {
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					if ev.PrevKv != nil {
						var tm coord.TableMeta
						if json.Unmarshal(ev.PrevKv.Value, &tm) == nil {
							delete(metas, tm.TID)
						}
					}
					continue
				}
				var tm coord.TableMeta
				if err := json.Unmarshal(ev.Kv.Value, &tm); err == nil {
					metas[tm.TID] = tm
				}
			}
			d.reconcile(ctx, metas)
		}
	}
	return nil
}

type placement struct {
	tm coord.TableMeta
	pm coord.PartitionMeta
	me coord.ReplicaMeta
}

func (d *data) reconcile(ctx context.Context, metas map[uint32]coord.TableMeta) {
	ep := d.s.cfg.Endpoint
	want := map[uint64]placement{}
	for _, tm := range metas {
		for _, pm := range tm.Partitions {
			for _, r := range pm.Replicas {
				if r.Endpoint == ep {
					want[replication.ShardID(tm.TID, pm.PID)] = placement{tm, pm, r}
				}
			}
		}
	}
	d.mu.Lock()
	d.tables = metas
	var stop []*hosted
	type newIndexes struct {
		h    *hosted
		defs []schema.Index
	}
	var grow []newIndexes
	for id, h := range d.parts {
		w, ok := want[id]
		if !ok || w.me.ReplicaID != h.myID {
			// Not placed here any more, or placed anew under another id.
			stop = append(stop, h)
			delete(d.parts, id)
		} else {
			h.meta = w.pm
			have := map[string]bool{}
			for _, ix := range h.rep.part.Table().Indexes {
				have[ix.Name] = true
			}
			var defs []schema.Index
			for _, ix := range w.tm.Table.Indexes {
				if !have[ix.Name] {
					defs = append(defs, ix)
				}
			}
			if len(defs) > 0 {
				grow = append(grow, newIndexes{h, defs})
			}
		}
	}
	if !d.reconciled {
		d.reconciled = true
		d.lost = map[uint64]lostReplica{}
		for id, w := range want {
			switch {
			case d.forgotAtStart != "":
				d.lost[id] = lostReplica{w.me.ReplicaID, d.forgotAtStart}
			case d.host.Forgot(id, w.me.ReplicaID):
				d.lost[id] = lostReplica{w.me.ReplicaID, "this tablet ran this replica before, but its Raft log store no longer holds the replica's state"}
			}
		}
	}
	var start []uint64
	var forgotten []placement
	for id, w := range want {
		if d.parts[id] != nil {
			continue
		}
		if l, ok := d.lost[id]; ok && l.replicaID == w.me.ReplicaID {
			forgotten = append(forgotten, w)
			continue
		}
		start = append(start, id)
	}
	d.mu.Unlock()
	for _, w := range forgotten {
		d.warnForgotten(w)
	}
	for _, h := range stop {
		h.batch.close()
		if err := d.host.StopReplica(ctx, h.rep.shardID, h.myID, true); err != nil {
			d.s.log.Warn("stopping replica", "tid", h.rep.tid, "pid", h.rep.pid, "err", err)
		} else {
			d.s.log.Info("replica removed", "tid", h.rep.tid, "pid", h.rep.pid)
		}
		_, _ = d.s.cli.Delete(ctx, d.s.keys.ReplicaStatus(h.rep.tid, h.rep.pid, ep))
	}
	for _, g := range grow {
		for _, ix := range g.defs {
			start := time.Now()
			if err := g.h.rep.part.AddIndex(ix); err != nil {
				d.s.log.Error("adding index", "tid", g.h.rep.tid, "pid", g.h.rep.pid, "index", ix.Name, "err", err)
				continue
			}
			d.s.log.Info("index built", "tid", g.h.rep.tid, "pid", g.h.rep.pid, "index", ix.Name, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	for _, id := range start {
		if err := d.startReplica(want[id]); err != nil {
			d.s.log.Error("starting replica", "tid", want[id].tm.TID, "pid", want[id].pm.PID, "err", err)
		}
	}
	d.signalStatus()
}

// warnForgotten logs, once per replica, why a replica placed here is not
// started.
func (d *data) warnForgotten(w placement) {
	d.mu.Lock()
	if d.warned == nil {
		d.warned = map[uint64]bool{}
	}
	id := replication.ShardID(w.tm.TID, w.pm.PID)
	already := d.warned[id]
	d.warned[id] = true
	why := d.lost[id].why
	d.mu.Unlock()
	if !already {
		d.s.log.Error("replica not started: the metadata places it here, but "+why+", so its Raft log and votes are gone; run recoverdata (or recovertable) to replace it with a copy from the leader",
			"table", w.tm.Table.Name, "tid", w.tm.TID, "pid", w.pm.PID, "replica_id", w.me.ReplicaID, "db_root_path", d.s.cfg.DBRootPath)
	}
}

func (d *data) startReplica(w placement) error {
	tm, pm := w.tm, w.pm
	shard := replication.ShardID(tm.TID, pm.PID)
	rep, err := newReplica(tm.TID, pm.PID, shard, tm.Table, d.s.log)
	if err != nil {
		return err
	}
	members := map[uint64]string{}
	for _, r := range pm.Replicas {
		if !r.Joined {
			members[r.ReplicaID] = r.RaftEndpoint
		}
	}
	fresh := !d.host.HasData(shard, w.me.ReplicaID)
	// A replica that joined a running group joined as a learner, and its
	// log starts with that: dragonboat must restart it as a learner too and
	// replays the promotion from the log (or a snapshot) itself.
	if err := d.host.StartReplica(shard, w.me.ReplicaID, members, w.me.Joined, w.me.Joined, func() replication.StateMachine { return rep }); err != nil {
		return err
	}
	h := &hosted{myID: w.me.ReplicaID, rep: rep, meta: pm, created: time.Now()}
	h.batch = newBatcher(d.host, shard, func() bool {
		id, _, ok := d.host.Leader(shard)
		return ok && id == w.me.ReplicaID
	}, h.movingToEndpoint)
	d.mu.Lock()
	d.parts[shard] = h
	d.mu.Unlock()
	d.s.log.Info("replica started", "table", tm.Table.Name, "tid", tm.TID, "pid", pm.PID, "replica_id", w.me.ReplicaID, "joined", w.me.Joined)
	// Spread leaders: the preferred leader (first replica) of a new group
	// asks for leadership once the group has elected someone.
	// Only for a group created just now: a restarted replica must not pull
	// leadership to itself (operators and post-upgrade decide that).
	if fresh && len(pm.Replicas) > 1 && pm.Replicas[0].ReplicaID == w.me.ReplicaID && !w.me.Joined && time.Since(tm.CreateTime) < time.Minute {
		go d.claimLeadership(h)
	}
	return nil
}

func (d *data) claimLeadership(h *hosted) {
	for i := 0; i < 100; i++ {
		if id, _, ok := d.host.Leader(h.rep.shardID); ok {
			if id != h.myID {
				_ = d.host.TransferLeader(h.rep.shardID, h.myID)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noteLeader records when a transfer target learns it leads (see
// hosted.leaderAt).
func (d *data) noteLeader(info replication.LeaderInfo) {
	d.mu.RLock()
	h := d.parts[info.ShardID]
	d.mu.RUnlock()
	if h != nil && info.LeaderID == h.myID && h.armedAt.Load() != 0 {
		h.leaderAt.Store(time.Now().UnixNano())
	}
}

func (d *data) signalStatus() {
	select {
	case d.leaderCh <- struct{}{}:
	default:
	}
}

// reportStatus publishes every replica's observed role under pstatus/,
// leased by the registration, on each leader change and every second.
func (d *data) reportStatus(ctx context.Context) {
	last := map[uint64]coord.ReplicaStatus{}
	var lastLease clientv3.LeaseID
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		leadershipOnly := false
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-d.leaderCh:
			// Clients route by these keys, so a leader change is
			// published at once; rows and offsets wait for the tick.
			// During an upgrade leaders move many times a second, and
			// rewriting every replica's status at each move multiplied
			// the etcd writes, and the watch events every client
			// decodes, by six (280/s against 48/s).
			leadershipOnly = true
		}
		lease := clientv3.LeaseID(d.s.lease.Load())
		if lease == 0 {
			continue
		}
		if lease != lastLease { // re-registered: the old keys died with the old lease
			last = map[uint64]coord.ReplicaStatus{}
			lastLease = lease
		}
		// Every changed status in one transaction (a few per tablet at
		// most): one etcd commit and fsync a second instead of one per
		// replica, which under steady writes is every replica.
		var ops []clientv3.Op
		var changed []uint64
		var statuses []coord.ReplicaStatus
		for _, h := range d.hostedReplicas() {
			id, term, ok := d.host.Leader(h.rep.shardID)
			st := h.rep.part.Stats()
			rs := coord.ReplicaStatus{Endpoint: d.s.cfg.Endpoint, IsLeader: ok && id == h.myID, Term: term,
				Offset: h.rep.applied.Load(), Rows: st.Rows, MemoryBytes: st.MemoryBytes}
			if ok {
				rs.LeaderReplicaID = id
			}
			if prev, had := last[h.rep.shardID]; had && !statusChanged(prev, rs, leadershipOnly) {
				continue
			}
			rs.UpdatedAt = time.Now().UTC()
			b, _ := json.Marshal(rs)
			ops = append(ops, clientv3.OpPut(d.s.keys.ReplicaStatus(h.rep.tid, h.rep.pid, d.s.cfg.Endpoint), string(b), clientv3.WithLease(lease)))
			changed = append(changed, h.rep.shardID)
			statuses = append(statuses, rs)
		}
		for start := 0; start < len(ops); start += statusOpsPerTxn {
			end := min(start+statusOpsPerTxn, len(ops))
			if _, err := d.s.cli.Txn(ctx).Then(ops[start:end]...).Commit(); err != nil {
				continue
			}
			for i := start; i < end; i++ {
				last[changed[i]] = statuses[i]
			}
		}
	}
}

// statusChanged reports whether cur must be written over prev: any change
// on the second's tick, only a change of leadership otherwise.
func statusChanged(prev, cur coord.ReplicaStatus, leadershipOnly bool) bool {
	if prev.IsLeader != cur.IsLeader || prev.Term != cur.Term || prev.LeaderReplicaID != cur.LeaderReplicaID {
		return true
	}
	return !leadershipOnly && (prev.Rows != cur.Rows || prev.Offset != cur.Offset)
}

// statusOpsPerTxn stays under etcd's default limit of 128 operations per
// transaction (--max-txn-ops).
const statusOpsPerTxn = 100

// gcLoop removes expired rows from every replica. Each partition's GC
// locks one of its shards at a time, so writers wait for at most one
// shard's sweep.
func (d *data) gcLoop(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, h := range d.hostedReplicas() {
			start := time.Now()
			if n := h.rep.part.GC(start); n > 0 {
				d.s.log.Info("expired rows removed", "tid", h.rep.tid, "pid", h.rep.pid, "rows", n, "took", time.Since(start).Round(time.Microsecond))
			}
		}
	}
}

// Traverse pages through a partition's rows for full-scan previews.
func (d *data) Traverse(ctx context.Context, req *connect.Request[openmldbv1.TraverseRequest]) (*connect.Response[openmldbv1.TraverseResponse], error) {
	m := req.Msg
	h, err := d.get(m.Tid, m.Pid)
	if err != nil {
		return nil, err
	}
	if !m.AllowFollower {
		if err := d.checkLeader(h); err != nil {
			return nil, err
		}
	}
	limit := int(m.Limit)
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	rows, last, done := h.rep.part.Traverse(m.AfterKey, m.Resume, limit, time.Now())
	resp := &openmldbv1.TraverseResponse{LastKey: last, Done: done}
	for _, r := range rows {
		resp.Rows = append(resp.Rows, r.Data)
	}
	return connect.NewResponse(resp), nil
}
