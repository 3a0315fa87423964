package ops

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/replication"
)

func (t *tool) knownTablet(ctx context.Context, ep string) error {
	healthy, err := t.healthyTablets(ctx)
	if err != nil {
		return err
	}
	for _, h := range healthy {
		if h == ep {
			return nil
		}
	}
	for _, tm := range t.cli.Tables("") {
		for _, p := range tm.Partitions {
			if holds(p, ep) {
				return nil
			}
		}
	}
	return fmt.Errorf("%s is neither a healthy tablet nor holds any replica of this cluster", ep)
}

// listSome joins the first n items and counts the rest.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// stoppableTogether refuses a pre-upgrade of several endpoints that share
// a partition: each endpoint's preparation assumes the others keep
// serving, so two of them stopped at once could take a group's majority.
// Endpoints with no partition in common can be prepared, and stopped,
// together.
func (t *tool) stoppableTogether(eps []string) error {
	if len(eps) < 2 {
		return nil
	}
	var shared []string
	for _, tm := range t.tablesSorted() {
		for _, pm := range tm.Partitions {
			var on []string
			for _, ep := range eps {
				if holds(pm, ep) {
					on = append(on, ep)
				}
			}
			if len(on) > 1 {
				shared = append(shared, fmt.Sprintf("%s.%s pid %d (%s)", tm.Table.DB, tm.Table.Name, pm.PID, strings.Join(on, ", ")))
			}
		}
	}
	if len(shared) == 0 {
		return nil
	}
	return fmt.Errorf("pre-upgrade of %s together refused: these partitions have replicas on more than one of them, so stopping them at once could take the partitions' majority: %s. Upgrade those tablets one at a time",
		strings.Join(eps, ","), listSome(shared, 5))
}

// majoritiesLeft refuses, before anything is changed, when a partition
// that needs a temporary replica has no live majority now: adding the
// replica is a Raft membership change, which such a group cannot commit
// (typically the tablet was stopped before its pre-upgrade, or another of
// the partition's tablets is down), and its op would wait for ever.
func (t *tool) majoritiesLeft(ep string) error {
	var stuck []string
	for _, tm := range t.tablesSorted() {
		for _, pm := range tm.Partitions {
			if !holds(pm, ep) {
				continue
			}
			v := t.view(tm, pm)
			if tempNeeded(v, ep) == 0 {
				continue
			}
			// Raft's own view: a voter counts if its tablet reports it,
			// whatever the metadata's offline mark says.
			st := t.cli.ReplicaStatuses(tm.TID, pm.PID)
			reporting := 0
			for _, r := range pm.Replicas {
				if _, ok := st[r.Endpoint]; ok && !r.NonVoting {
					reporting++
				}
			}
			if reporting < v.voters/2+1 {
				stuck = append(stuck, fmt.Sprintf("%s.%s pid %d (%d of %d voters live)", tm.Table.DB, tm.Table.Name, pm.PID, reporting, v.voters))
			}
		}
	}
	if len(stuck) == 0 {
		return nil
	}
	return fmt.Errorf("%s: these partitions have no live majority, so no temporary replica can be added to them: %s. "+
		"Start their stopped tablets (and run recoverdata) before pre-upgrade, which must run while %s is still up; "+
		"or accept them unavailable with --allow_single_replica", ep, listSome(stuck, 8), ep)
}

func (t *tool) preUpgrade(ctx context.Context, ep string) error {
	start := time.Now()
	if err := t.knownTablet(ctx, ep); err != nil {
		return err
	}
	if !t.cfg.AllowSingleReplica {
		if err := t.majoritiesLeft(ep); err != nil {
			return err
		}
	}
	if err := t.waitNoOps(ctx); err != nil {
		return err
	}
	plan, err := t.loadPlan(ctx, ep)
	if err != nil {
		return err
	}
	resumed := plan != nil
	if plan == nil {
		plan = &Plan{Endpoint: ep, Created: time.Now().UTC()}
	}
	movedBefore, tempsBefore := len(plan.MovedLeaders), len(plan.TempReplicas)
	healthy, err := t.healthyTablets(ctx)
	if err != nil {
		return err
	}
	load := t.replicaLoad()
	t.printf("pre-upgrade %s: %d healthy tablets\n", ep, len(healthy))

	// 1. Temporary replicas where stopping ep would cost the majority.
	var ids []uint64
	for _, tm := range t.tablesSorted() {
		for _, pm := range tm.Partitions {
			if !holds(pm, ep) {
				continue
			}
			v := t.view(tm, pm)
			k := tempNeeded(v, ep)
			if k == 0 {
				continue
			}
			part := PartitionOf{DB: tm.Table.DB, Table: tm.Table.Name, TID: tm.TID, PID: pm.PID}
			if t.cfg.AllowSingleReplica {
				t.printf("  %s.%s pid %d: %d of %d voters live; unavailable while %s is down (--allow_single_replica)\n",
					part.DB, part.Table, part.PID, len(v.liveVoters), v.voters, ep)
				plan.Unavailable = append(plan.Unavailable, part)
				continue
			}
			var cands []string
			for _, h := range healthy {
				// Never on another endpoint being prepared in the same run:
				// those stop too.
				if h != ep && !holds(pm, h) && !slices.Contains(t.cfg.Endpoints, h) {
					cands = append(cands, h)
				}
			}
			sort.SliceStable(cands, func(i, j int) bool { return load[cands[i]] < load[cands[j]] })
			if len(cands) < k {
				return fmt.Errorf("%s.%s pid %d needs %d temporary replica(s) to stay available without %s, but only %d other healthy tablet(s) can take one; add tablets or use --allow_single_replica",
					part.DB, part.Table, part.PID, k, ep, len(cands))
			}
			for _, dst := range cands[:k] {
				got, err := t.submit(ctx, &openmldbv1.SubmitOpRequest{OpType: "kAddReplicaOP", Db: part.DB, Table: part.Table, Pids: []uint32{part.PID}, Endpoint: dst})
				if err != nil {
					return fmt.Errorf("%s.%s pid %d: adding a temporary replica on %s: %w", part.DB, part.Table, part.PID, dst, err)
				}
				ids = append(ids, got...)
				load[dst]++
				tp := part
				tp.AddedEP = dst
				plan.TempReplicas = append(plan.TempReplicas, tp)
				if err := t.savePlan(ctx, plan); err != nil {
					return err
				}
				t.appendStat(plan, tp)
				t.printf("  %s.%s pid %d: adding temporary replica on %s\n", part.DB, part.Table, part.PID, dst)
			}
		}
	}
	if err := t.savePlan(ctx, plan); err != nil {
		return err
	}
	if err := t.waitOps(ctx, ids); err != nil {
		return fmt.Errorf("adding temporary replicas: %w", err)
	}

	// 2. Move every leader off ep. A temporary replica added in step 1 is
	// a live voter only once its op promoted it and it reported a status;
	// the watch that feeds this tool may lag behind the op, so a partition
	// led by ep with too few live voters is retried until it has them
	// instead of being skipped (which left it led by ep).
	ids = nil
	pending := map[[2]uint32]bool{}
	for _, tm := range t.tablesSorted() {
		for _, pm := range tm.Partitions {
			if holds(pm, ep) {
				pending[[2]uint32{tm.TID, pm.PID}] = true
			}
		}
	}
	unavailable := plan.unavailableSet()
	moveDeadline := time.Now().Add(time.Minute)
	for len(pending) > 0 {
		for _, tm := range t.tablesSorted() {
			for _, pm := range tm.Partitions {
				key := [2]uint32{tm.TID, pm.PID}
				if !pending[key] {
					continue
				}
				v := t.view(tm, pm)
				if v.leader != ep {
					delete(pending, key)
					continue
				}
				if len(v.liveVoters) < 2 {
					if unavailable[key] {
						delete(pending, key)
					}
					continue
				}
				delete(pending, key)
				part := PartitionOf{DB: tm.Table.DB, Table: tm.Table.Name, TID: tm.TID, PID: pm.PID}
				got, err := t.submit(ctx, &openmldbv1.SubmitOpRequest{OpType: "kChangeLeaderOP", Db: part.DB, Table: part.Table, Pids: []uint32{part.PID}, Endpoint: "auto"})
				if err != nil {
					return fmt.Errorf("%s.%s pid %d: moving the leader: %w", part.DB, part.Table, part.PID, err)
				}
				ids = append(ids, got...)
				plan.MovedLeaders = append(plan.MovedLeaders, part)
				if err := t.savePlan(ctx, plan); err != nil {
					return err
				}
				t.appendStat(plan, part)
				t.printf("  %s.%s pid %d: moving the leader off %s\n", part.DB, part.Table, part.PID, ep)
				// One move at a time, as OpenMLDB's tool does: moves
				// under way together share the CPU and the disk, and
				// each then holds its partition's writes longer (on the
				// test machine a move's pause was ~30 ms in parallel and
				// ~18 ms alone, see docs/operations/upgrade.md).
				if err := t.waitOps(ctx, got); err != nil {
					return fmt.Errorf("moving leaders: %w", err)
				}
			}
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(moveDeadline) {
			var names []string
			for k := range pending {
				names = append(names, fmt.Sprintf("tid %d pid %d", k[0], k[1]))
			}
			sort.Strings(names)
			return fmt.Errorf("partitions led by %s still have fewer than 2 live voters after a minute, so their leaders cannot move: %s", ep, strings.Join(names, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := t.waitOps(ctx, ids); err != nil {
		return fmt.Errorf("moving leaders: %w", err)
	}

	// 3. Check what we promised, from observed state.
	deadline := time.Now().Add(30 * time.Second)
	for {
		bad := t.preUpgradeViolations(ctx, ep, plan)
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after pre-upgrade: %v", bad)
		}
		if err := pause(ctx); err != nil {
			return err
		}
	}
	note := ""
	if resumed {
		note = fmt.Sprintf(" (in all, with the earlier run's plan; this run: %d leaders moved, %d temporary replicas added)",
			len(plan.MovedLeaders)-movedBefore, len(plan.TempReplicas)-tempsBefore)
	}
	t.printf("pre-upgrade %s done in %s: %d leaders moved, %d temporary replicas added, %d partitions unavailable while it is down%s\n",
		ep, time.Since(start).Round(time.Millisecond), len(plan.MovedLeaders), len(plan.TempReplicas), len(plan.Unavailable), note)
	return nil
}

// unavailableSet is the partitions (tid, pid) that --allow_single_replica
// leaves unavailable while the endpoint is down.
func (p *Plan) unavailableSet() map[[2]uint32]bool {
	set := map[[2]uint32]bool{}
	for _, u := range p.Unavailable {
		set[[2]uint32{u.TID, u.PID}] = true
	}
	return set
}

func (t *tool) preUpgradeViolations(ctx context.Context, ep string, plan *Plan) []string {
	skip := plan.unavailableSet()
	var bad []string
	for _, tm := range t.cli.Tables("") {
		for _, pm := range tm.Partitions {
			if !holds(pm, ep) || skip[[2]uint32{tm.TID, pm.PID}] {
				continue
			}
			v := t.view(tm, pm)
			switch {
			case v.leader == ep:
				bad = append(bad, fmt.Sprintf("%s pid %d is still led by %s", tm.Table.Name, pm.PID, ep))
			case tempNeeded(v, ep) > 0:
				bad = append(bad, fmt.Sprintf("%s pid %d would lose its majority without %s", tm.Table.Name, pm.PID, ep))
			case v.leader != "":
				if why := t.laggingWithout(ctx, v, ep); why != "" {
					bad = append(bad, why)
				}
			}
		}
	}
	return bad
}

// laggingWithout says why, if so, the partition's voters other than ep are
// not a majority keeping up with their leader. Live is not enough: a
// member whose link to a new leader is still recovering (after a peer
// restarted, dragonboat drops messages to it for up to a second) is
// behind, and stopping ep then would stall the partition's writes.
func (t *tool) laggingWithout(ctx context.Context, v partView, ep string) string {
	tm, pm := v.tm, v.pm
	members := pm.Endpoints()
	var without uint64
	for id, e := range members {
		if e == ep {
			without = id
		}
	}
	req := &openmldbv1.MembershipRequest{Tid: tm.TID, Pid: pm.PID}
	ok, leaderApplied, applied, err := replication.KeepsUpWithout(members, v.leader, without, func(ep string) (replication.ReplicaProgress, error) {
		m, err := t.membership(ctx, ep, req)
		if err != nil {
			return replication.ReplicaProgress{}, err
		}
		return replication.ReplicaProgress{Voters: m.Voters, Applied: m.Applied}, nil
	})
	switch {
	case err != nil:
		return fmt.Sprintf("%s pid %d: leader %s does not answer: %v", tm.Table.Name, pm.PID, v.leader, err)
	case !ok:
		return fmt.Sprintf("%s pid %d: without %s, too few voters keep up with the leader (applied %v, leader %d)",
			tm.Table.Name, pm.PID, ep, applied, leaderApplied)
	}
	return ""
}

// breakerSettle outlasts dragonboat's per-peer circuit breaker (0.5–1 s
// after a failed write, then a reconnect).
const breakerSettle = 1500 * time.Millisecond

func (t *tool) membership(ctx context.Context, ep string, req *openmldbv1.MembershipRequest) (*openmldbv1.MembershipResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := t.cli.Tablet(ep).Membership(cctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (t *tool) postUpgrade(ctx context.Context, ep string) error {
	start := time.Now()
	plan, err := t.loadPlan(ctx, ep)
	if err != nil {
		return err
	}
	if plan == nil {
		t.printf("post-upgrade %s: no pre-upgrade plan is recorded; nothing to do\n", ep)
		return nil
	}
	if err := t.waitNoOps(ctx); err != nil {
		return err
	}
	if err := t.waitHealthy(ctx, ep, 2*time.Minute); err != nil {
		return err
	}
	// Replicas marked offline (auto_failover, offlineendpoint) are recovered first.
	if err := t.recoverEndpoint(ctx, ep); err != nil {
		return err
	}
	if err := t.waitCaughtUp(ctx, ep, 5*time.Minute); err != nil {
		return err
	}
	// Leaders move back one source tablet at a time, with a pause between:
	// once a partition is led by ep, its followers start writing to ep,
	// and a follower's tablet whose stream to the restarted ep was unused
	// finds it broken then; dragonboat's circuit breaker then drops all of
	// that tablet's messages to ep for up to a second, which would lose the
	// hand-over message of any transfer from that tablet under way.
	bySource := map[string][]PartitionOf{}
	var sources []string
	for _, part := range plan.MovedLeaders {
		tm, pm, ok := t.partition(part)
		if !ok || !holds(pm, ep) {
			continue
		}
		leader := t.view(tm, pm).leader
		if leader == ep {
			continue
		}
		if _, seen := bySource[leader]; !seen {
			sources = append(sources, leader)
		}
		bySource[leader] = append(bySource[leader], part)
	}
	sort.Strings(sources)
	for i, src := range sources {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(breakerSettle):
			}
		}
		var ids []uint64
		for _, part := range bySource[src] {
			got, err := t.submit(ctx, &openmldbv1.SubmitOpRequest{OpType: "kChangeLeaderOP", Db: part.DB, Table: part.Table, Pids: []uint32{part.PID}, Endpoint: ep})
			if err != nil {
				return fmt.Errorf("%s.%s pid %d: moving the leader back: %w", part.DB, part.Table, part.PID, err)
			}
			t.printf("  %s.%s pid %d: moving the leader back from %s to %s\n", part.DB, part.Table, part.PID, src, ep)
			ids = append(ids, got...)
			if err := t.waitOps(ctx, got); err != nil { // one at a time, as in pre-upgrade
				return fmt.Errorf("moving leaders back: %w", err)
			}
		}
		if err := t.waitOps(ctx, ids); err != nil {
			return fmt.Errorf("moving leaders back: %w", err)
		}
	}
	var ids []uint64
	for _, part := range plan.TempReplicas {
		tm, pm, ok := t.partition(part)
		if !ok || !holds(pm, part.AddedEP) {
			continue
		}
		if t.view(tm, pm).leader == part.AddedEP {
			got, err := t.submit(ctx, &openmldbv1.SubmitOpRequest{OpType: "kChangeLeaderOP", Db: part.DB, Table: part.Table, Pids: []uint32{part.PID}, Endpoint: ep})
			if err != nil {
				return err
			}
			if err := t.waitOps(ctx, got); err != nil {
				return err
			}
		}
		got, err := t.submit(ctx, &openmldbv1.SubmitOpRequest{OpType: "kDelReplicaOP", Db: part.DB, Table: part.Table, Pids: []uint32{part.PID}, Endpoint: part.AddedEP})
		if err != nil {
			return fmt.Errorf("%s.%s pid %d: removing the temporary replica on %s: %w", part.DB, part.Table, part.PID, part.AddedEP, err)
		}
		t.printf("  %s.%s pid %d: removing the temporary replica on %s\n", part.DB, part.Table, part.PID, part.AddedEP)
		ids = append(ids, got...)
	}
	if err := t.waitOps(ctx, ids); err != nil {
		return fmt.Errorf("removing temporary replicas: %w", err)
	}
	if _, err := t.cli.Etcd().Delete(ctx, t.keys.UpgradePlan(ep)); err != nil {
		return err
	}
	t.printf("post-upgrade %s done in %s: %d leaders moved back, %d temporary replicas removed\n",
		ep, time.Since(start).Round(time.Millisecond), len(plan.MovedLeaders), len(plan.TempReplicas))
	return nil
}

func (t *tool) partition(p PartitionOf) (coord.TableMeta, coord.PartitionMeta, bool) {
	for _, tm := range t.cli.Tables(p.DB) {
		if tm.Table.Name == p.Table && tm.TID == p.TID && int(p.PID) < len(tm.Partitions) {
			return tm, tm.Partitions[p.PID], true
		}
	}
	return coord.TableMeta{}, coord.PartitionMeta{}, false
}

func (t *tool) waitHealthy(ctx context.Context, ep string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for told := false; ; told = true {
		healthy, err := t.healthyTablets(ctx)
		if err == nil {
			for _, h := range healthy {
				if h == ep {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not a healthy tablet after %s: start it first (bin/start.sh start tablet)", ep, timeout)
		}
		if !told {
			t.printf("waiting up to %s for %s to run and register (start it with bin/start.sh start tablet)\n", timeout, ep)
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("interrupted while waiting for %s to be a healthy tablet: %w", ep, err)
		}
	}
}

// unreplaceable says why a replica that its (healthy) tablet does not host
// cannot be replaced, or "" when it can be, or is merely starting. The
// replacement removes the old member first, a change the group commits
// with a majority of its voters: without the lost one there may be none,
// and the op would wait for ever.
func (t *tool) unreplaceable(ctx context.Context, tm coord.TableMeta, pm coord.PartitionMeta, lost coord.ReplicaMeta) string {
	if lost.NonVoting {
		return ""
	}
	mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err := t.cli.Tablet(lost.Endpoint).Membership(mctx, connect.NewRequest(&openmldbv1.MembershipRequest{Tid: tm.TID, Pid: pm.PID}))
	cancel()
	if connect.CodeOf(err) != connect.CodeNotFound {
		return "" // hosted (restarting, or just not reporting yet): the op checks and marks it
	}
	st := t.cli.ReplicaStatuses(tm.TID, pm.PID)
	voters, live := 0, 0
	for _, r := range pm.Replicas {
		if r.NonVoting {
			continue
		}
		voters++
		if _, ok := st[r.Endpoint]; ok && r.Endpoint != lost.Endpoint {
			live++
		}
	}
	if live >= voters/2+1 {
		return ""
	}
	return fmt.Sprintf("its tablet no longer has this replica's data (an empty data directory at start), and the %d other live voter(s) are not a majority of %d, "+
		"so the partition cannot commit the change that replaces it: it stays unavailable until the lost data directory is restored", live, voters)
}

// recoverEndpoint recovers the replicas on ep that are marked offline or
// do not report, and waits for the ops.
func (t *tool) recoverEndpoint(ctx context.Context, ep string) error {
	t.waitReports(ctx, ep, 10*time.Second)
	var ids []uint64
	for _, tm := range t.tablesSorted() {
		for _, pm := range tm.Partitions {
			for _, r := range pm.Replicas {
				if r.Endpoint != ep {
					continue
				}
				if _, ok := t.cli.ReplicaStatuses(tm.TID, pm.PID)[ep]; ok && !r.Offline {
					continue
				}
				got, err := t.submit(ctx, &openmldbv1.SubmitOpRequest{OpType: "kRecoverTableOP", Db: tm.Table.DB, Table: tm.Table.Name, Pids: []uint32{pm.PID}, Endpoint: ep})
				if err != nil {
					return fmt.Errorf("%s.%s pid %d: recovering the replica on %s: %w", tm.Table.DB, tm.Table.Name, pm.PID, ep, err)
				}
				ids = append(ids, got...)
			}
		}
	}
	return t.waitOps(ctx, ids)
}

// waitReports waits (bounded) until every replica on ep reports its state.
func (t *tool) waitReports(ctx context.Context, ep string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		missing := 0
		for _, tm := range t.cli.Tables("") {
			for _, pm := range tm.Partitions {
				if holds(pm, ep) {
					if _, ok := t.cli.ReplicaStatuses(tm.TID, pm.PID)[ep]; !ok {
						missing++
					}
				}
			}
		}
		if missing == 0 {
			return
		}
		if pause(ctx) != nil {
			return
		}
	}
}

// waitCaughtUp waits until every replica on ep has applied what its leader has.
func (t *tool) waitCaughtUp(ctx context.Context, ep string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		lagging := ""
		for _, tm := range t.cli.Tables("") {
			for _, pm := range tm.Partitions {
				if !holds(pm, ep) || lagging != "" {
					continue
				}
				v := t.view(tm, pm)
				if v.leader == "" {
					lagging = fmt.Sprintf("%s pid %d has no leader", tm.Table.Name, pm.PID)
					continue
				}
				if v.leader == ep {
					continue
				}
				lm, err1 := t.cli.Tablet(v.leader).Membership(ctx, connect.NewRequest(&openmldbv1.MembershipRequest{Tid: tm.TID, Pid: pm.PID}))
				em, err2 := t.cli.Tablet(ep).Membership(ctx, connect.NewRequest(&openmldbv1.MembershipRequest{Tid: tm.TID, Pid: pm.PID}))
				if err1 != nil || err2 != nil {
					lagging = fmt.Sprintf("%s pid %d: replicas not answering", tm.Table.Name, pm.PID)
					continue
				}
				if em.Msg.Applied+replication.CatchUpSlack < lm.Msg.Applied {
					lagging = fmt.Sprintf("%s pid %d: %s applied %d, leader %d", tm.Table.Name, pm.PID, ep, em.Msg.Applied, lm.Msg.Applied)
				}
			}
		}
		if lagging == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replicas on %s did not catch up within %s: %s", ep, timeout, lagging)
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("interrupted while waiting for the replicas on %s to catch up: %w", ep, err)
		}
	}
}

func (t *tool) recoverData(ctx context.Context) error {
	healthy, err := t.healthyTablets(ctx)
	if err != nil {
		return err
	}
	isHealthy := map[string]bool{}
	for _, h := range healthy {
		isHealthy[h] = true
		t.waitReports(ctx, h, 10*time.Second)
	}
	if err := t.waitNoOps(ctx); err != nil {
		return err
	}
	var failed []string
	for _, tm := range t.tablesSorted() {
		var ids []uint64
		failedBefore := len(failed)
		for _, pm := range tm.Partitions {
			st := t.cli.ReplicaStatuses(tm.TID, pm.PID)
			for _, r := range pm.Replicas {
				if _, ok := st[r.Endpoint]; ok && !r.Offline {
					continue
				}
				if !isHealthy[r.Endpoint] {
					failed = append(failed, fmt.Sprintf("%s.%s pid %d: tablet %s is down", tm.Table.DB, tm.Table.Name, pm.PID, r.Endpoint))
					continue
				}
				if why := t.unreplaceable(ctx, tm, pm, r); why != "" {
					failed = append(failed, fmt.Sprintf("%s.%s pid %d on %s: %s", tm.Table.DB, tm.Table.Name, pm.PID, r.Endpoint, why))
					continue
				}
				got, err := t.submit(ctx, &openmldbv1.SubmitOpRequest{OpType: "kRecoverTableOP", Db: tm.Table.DB, Table: tm.Table.Name, Pids: []uint32{pm.PID}, Endpoint: r.Endpoint})
				if err != nil {
					failed = append(failed, fmt.Sprintf("%s.%s pid %d on %s: %v", tm.Table.DB, tm.Table.Name, pm.PID, r.Endpoint, err))
					continue
				}
				t.printf("  %s.%s pid %d: recovering the replica on %s\n", tm.Table.DB, tm.Table.Name, pm.PID, r.Endpoint)
				ids = append(ids, got...)
			}
		}
		if len(ids) == 0 {
			if len(failed) == failedBefore { // else the FAILED lines below say why
				t.printf("%s in %s is healthy\n", tm.Table.Name, tm.Table.DB)
			}
			continue
		}
		if err := t.waitOps(ctx, ids); err != nil {
			failed = append(failed, err.Error())
			continue
		}
		t.printf("%s in %s recovered\n", tm.Table.Name, tm.Table.DB)
	}
	if len(failed) > 0 {
		for _, f := range failed {
			t.printf("FAILED: %s\n", f)
		}
		return fmt.Errorf("recoverdata: %d replica(s) not recovered", len(failed))
	}
	return nil
}
