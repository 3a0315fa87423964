package nameserver

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/replication"
)

// Task names, shown in showopstatus's cur_task.
const (
	taskChangeLeaderAway = "kChangeLeaderAway" // migrate: move leadership off the source first
	taskCheckRecover     = "kCheckRecover"
	taskAddLearner       = "kAddLearner"
	taskAddTableInfo     = "kAddTableInfo"
	taskWaitCaughtUp     = "kWaitCaughtUp"
	taskPromoteReplica   = "kPromoteReplica"
	taskUpdateTableInfo  = "kUpdateTableInfo"
	taskDelReplica       = "kDelReplica"
	taskDelTableInfo     = "kDelTableInfo"
	taskChangeLeader     = "kChangeLeader"
	taskUpdateTableAlive = "kUpdateTableAlive"
	taskRestoreLeader    = "kRestoreLeader" // recoverendpoint need_restore: lead where placed first
)

func tasksFor(opType string) []string {
	add := []string{taskAddLearner, taskAddTableInfo, taskWaitCaughtUp, taskPromoteReplica, taskUpdateTableInfo}
	del := []string{taskDelReplica, taskDelTableInfo}
	switch opType {
	case OpAddReplica:
		return add
	case OpDelReplica:
		return del
	case OpMigrate:
		return append(append([]string{taskChangeLeaderAway}, add...), del...)
	case OpChangeLeader:
		return []string{taskChangeLeader}
	case OpRecoverTable:
		return append(append([]string{taskCheckRecover}, del...), append(add, taskUpdateTableAlive)...)
	case OpOfflineReplica:
		return []string{taskChangeLeaderAway, taskUpdateTableAlive}
	case OpUpdatePartitionStatus:
		return []string{taskUpdateTableAlive}
	}
	return nil
}

func newReplicaID(op *Op) uint64 {
	f := fnv.New64a()
	fmt.Fprintf(f, "%s#%d", op.target(), op.ID)
	return f.Sum64() | 1
}

// target is the endpoint that receives a new replica.
func (o *Op) target() string {
	if o.Type == OpMigrate {
		return o.Dst
	}
	return o.Endpoint
}

// victim is the endpoint whose replica is removed (or taken offline).
func (o *Op) victim() string {
	if o.Type == OpMigrate || o.Type == OpOfflineReplica {
		return o.Src
	}
	return o.Endpoint
}

func (s *Server) partitionMeta(ctx context.Context, op *Op) (coord.TableMeta, coord.PartitionMeta, error) {
	tm, _, err := s.tableMeta(ctx, op.DB, op.Table)
	if err != nil {
		return tm, coord.PartitionMeta{}, err
	}
	if int(op.PID) >= len(tm.Partitions) {
		return tm, coord.PartitionMeta{}, fmt.Errorf("pid %d out of range", op.PID)
	}
	return tm, tm.Partitions[op.PID], nil
}

func replicaOn(pm coord.PartitionMeta, ep string) (coord.ReplicaMeta, bool) {
	for _, r := range pm.Replicas {
		if r.Endpoint == ep {
			return r, true
		}
	}
	return coord.ReplicaMeta{}, false
}

func (s *Server) membership(ctx context.Context, ep string, tid, pid uint32) (*openmldbv1.MembershipResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := tabletClient(ep).Membership(cctx, connect.NewRequest(&openmldbv1.MembershipRequest{Tid: tid, Pid: pid}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (s *Server) changeMembership(ctx context.Context, leader string, op *Op, action openmldbv1.ChangeMembershipRequest_Action, id uint64, raft string) error {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := tabletClient(leader).ChangeMembership(cctx, connect.NewRequest(&openmldbv1.ChangeMembershipRequest{
		Tid: op.TID, Pid: op.PID, Action: action, ReplicaId: id, RaftAddress: raft}))
	return err
}

// canCommitWithout reports whether the group, once replica victim is
// removed, still has a majority of voters that keep up with the leader.
// A member can be alive and yet behind: after a peer restarts, dragonboat
// finds a stale connection to it only when it first writes to it, and then
// drops every message to that peer for up to a second. Removing the
// member that carried the quorum meanwhile (a temporary replica, at the
// end of post-upgrade) leaves a group that cannot commit, whose leader
// steps down when it notices: seconds without writes. So wait until the
// members that stay have caught up.
func (s *Server) canCommitWithout(ctx context.Context, op *Op, pm coord.PartitionMeta, leader string, victim uint64) bool {
	ok, _, _, err := replication.KeepsUpWithout(pm.Endpoints(), leader, victim, func(ep string) (replication.ReplicaProgress, error) {
		m, err := s.membership(ctx, ep, op.TID, op.PID)
		if err != nil {
			return replication.ReplicaProgress{}, err
		}
		return replication.ReplicaProgress{Voters: m.Voters, Applied: m.Applied}, nil
	})
	return err == nil && ok
}

// transient reports errors worth polling again rather than failing the op.
func transient(err error) bool {
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeNotFound, connect.CodeUnknown, connect.CodeCanceled:
			return true
		case connect.CodeFailedPrecondition:
			return ce.Meta().Get("x-openmldb-not-leader") != ""
		}
		return false
	}
	return true // connection errors
}

// lastTransfer rate-limits leader transfer requests per op.
var lastTransfer sync.Map // op id -> time.Time

// runTask advances one task. done=false means "poll again"; skipTo > 0
// jumps to that task index (used to finish early when nothing is needed).
func (s *Server) runTask(ctx context.Context, op *Op, task string) (done bool, skipTo int, err error) {
	_, pm, err := s.partitionMeta(ctx, op)
	if err != nil {
		return false, 0, err
	}
	switch task {
	case taskCheckRecover:
		r, ok := replicaOn(pm, op.Endpoint)
		if !ok {
			return false, 0, fmt.Errorf("%s holds no replica of %s pid %d", op.Endpoint, op.Table, op.PID)
		}
		if _, healthy := s.isHealthy(ctx, op.Endpoint); !healthy {
			return false, 0, fmt.Errorf("endpoint %s is not healthy", op.Endpoint)
		}
		m, err := s.membership(ctx, op.Endpoint, op.TID, op.PID)
		if err == nil {
			_, voter := m.Voters[r.ReplicaID]
			_, learner := m.NonVoters[r.ReplicaID]
			if voter || learner {
				return true, len(op.Tasks) - 1, nil // running and a member: only mark it alive
			}
		} else if transient(err) {
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeNotFound {
				return false, 0, nil // tablet still starting: poll
			}
		}
		return true, 0, nil // data gone: re-create it below
	case taskAddLearner, taskPromoteReplica:
		dst := op.target()
		ni, healthy := s.isHealthy(ctx, dst)
		if !healthy {
			return false, 0, fmt.Errorf("endpoint %s is not healthy", dst)
		}
		leader, err := s.observedLeader(ctx, op.TID, op.PID)
		if err != nil {
			return false, 0, nil
		}
		action := openmldbv1.ChangeMembershipRequest_ADD_NON_VOTING
		if task == taskPromoteReplica {
			action = openmldbv1.ChangeMembershipRequest_PROMOTE
		}
		if err := s.changeMembership(ctx, leader, op, action, op.ReplicaID, ni.RaftEndpoint); err != nil {
			if transient(err) {
				return false, 0, nil
			}
			return false, 0, err
		}
		return true, 0, nil
	case taskAddTableInfo, taskUpdateTableInfo:
		dst := op.target()
		ni, healthy := s.isHealthy(ctx, dst)
		if !healthy && task == taskAddTableInfo {
			return false, 0, fmt.Errorf("endpoint %s is not healthy", dst)
		}
		err := s.updateTableMeta(ctx, op.DB, op.Table, func(tm *coord.TableMeta) (bool, error) {
			p := &tm.Partitions[op.PID]
			for i, r := range p.Replicas {
				if r.Endpoint != dst {
					continue
				}
				if r.ReplicaID != op.ReplicaID {
					return false, fmt.Errorf("%s already holds a replica of %s pid %d", dst, op.Table, op.PID)
				}
				if task == taskUpdateTableInfo && r.NonVoting {
					p.Replicas[i].NonVoting = false
					return true, nil
				}
				return false, nil
			}
			if task == taskUpdateTableInfo {
				return false, fmt.Errorf("replica on %s vanished from the table record", dst)
			}
			p.Replicas = append(p.Replicas, coord.ReplicaMeta{Endpoint: dst, RaftEndpoint: ni.RaftEndpoint,
				ReplicaID: op.ReplicaID, Joined: true, NonVoting: true})
			return true, nil
		})
		return err == nil, 0, err
	case taskWaitCaughtUp:
		leader, err := s.observedLeader(ctx, op.TID, op.PID)
		if err != nil {
			return false, 0, nil
		}
		lm, err := s.membership(ctx, leader, op.TID, op.PID)
		if err != nil {
			return false, 0, nil
		}
		dm, err := s.membership(ctx, op.target(), op.TID, op.PID)
		if err != nil {
			return false, 0, nil // replica not started yet
		}
		return dm.Applied+replication.CatchUpSlack >= lm.Applied, 0, nil
	case taskDelReplica:
		victim := op.victim()
		r, ok := replicaOn(pm, victim)
		if !ok {
			return true, 0, nil // already gone
		}
		leader, err := s.observedLeader(ctx, op.TID, op.PID)
		if err != nil {
			return false, 0, nil
		}
		if leader == victim {
			return false, 0, fmt.Errorf("%s is the leader of %s pid %d; change the leader first", victim, op.Table, op.PID)
		}
		if !s.canCommitWithout(ctx, op, pm, leader, r.ReplicaID) {
			return false, 0, nil // poll until the members that stay have caught up
		}
		if err := s.changeMembership(ctx, leader, op, openmldbv1.ChangeMembershipRequest_REMOVE, r.ReplicaID, ""); err != nil {
			if transient(err) {
				return false, 0, nil
			}
			return false, 0, err
		}
		return true, 0, nil
	case taskDelTableInfo:
		victim := op.victim()
		err := s.updateTableMeta(ctx, op.DB, op.Table, func(tm *coord.TableMeta) (bool, error) {
			p := &tm.Partitions[op.PID]
			for i, r := range p.Replicas {
				if r.Endpoint == victim {
					p.Replicas = append(p.Replicas[:i], p.Replicas[i+1:]...)
					return true, nil
				}
			}
			return false, nil
		})
		return err == nil, 0, err
	case taskChangeLeader, taskChangeLeaderAway:
		return s.changeLeaderStep(ctx, op, pm, task)
	case taskUpdateTableAlive:
		ep, alive := op.victim(), op.Alive
		if op.Type == OpRecoverTable {
			ep, alive = op.Endpoint, true
		}
		err := s.updateTableMeta(ctx, op.DB, op.Table, func(tm *coord.TableMeta) (bool, error) {
			p := &tm.Partitions[op.PID]
			for i, r := range p.Replicas {
				if r.Endpoint == ep {
					if p.Replicas[i].Offline == !alive {
						return false, nil
					}
					p.Replicas[i].Offline = !alive
					return true, nil
				}
			}
			return false, fmt.Errorf("%s holds no replica of %s pid %d", ep, op.Table, op.PID)
		})
		return err == nil, 0, err
	}
	return false, 0, fmt.Errorf("unknown task %s", task)
}

func (s *Server) changeLeaderStep(ctx context.Context, op *Op, pm coord.PartitionMeta, task string) (bool, int, error) {
	leader, err := s.observedLeader(ctx, op.TID, op.PID)
	if err != nil {
		return false, 0, nil
	}
	target := op.Endpoint
	if task == taskChangeLeaderAway {
		if leader != op.Src {
			lastTransfer.Delete(op.ID)
			return true, 0, nil // source does not lead: nothing to move
		}
		target = "auto"
	}
	if target == "auto" {
		eligible := func(r coord.ReplicaMeta) bool {
			return r.Endpoint != leader && !r.NonVoting && !r.Offline && !(r.Endpoint == op.Src && task == taskChangeLeaderAway)
		}
		// A target chosen on an earlier poll stays chosen: the transfer
		// asked of it may be completing while the leader is still
		// reported as the old one.
		if r, ok := replicaOn(pm, op.Endpoint); ok && eligible(r) {
			target = op.Endpoint
		} else {
			best, bestApplied, candidates := "", uint64(0), 0
			for _, r := range pm.Replicas {
				if !eligible(r) {
					continue
				}
				candidates++
				// Membership is a linearizable read of the group: it fails
				// while the group elects a leader, which is no reason to
				// give up on the op. Ask again on the next poll.
				m, err := s.membership(ctx, r.Endpoint, op.TID, op.PID)
				if err != nil {
					continue
				}
				if best == "" || m.Applied > bestApplied {
					best, bestApplied = r.Endpoint, m.Applied
				}
			}
			if candidates == 0 {
				return false, 0, fmt.Errorf("no alive voting replica of %s pid %d other than %s can take the leadership", op.Table, op.PID, leader)
			}
			if best == "" {
				return false, 0, nil
			}
			target = best
			// Remember the choice, durably, before acting on it: a
			// nameserver that takes the op over after the transfer would
			// otherwise read "auto" again, see the new leader, and move
			// the leadership on (back to where it came from).
			op.Endpoint = best
			if err := s.ops.save(ctx, op); err != nil {
				return false, 0, nil
			}
		}
	}
	if leader == target {
		lastTransfer.Delete(op.ID)
		return true, 0, nil
	}
	r, ok := replicaOn(pm, target)
	if !ok || r.NonVoting {
		return false, 0, fmt.Errorf("%s is not a voting replica of %s pid %d", target, op.Table, op.PID)
	}
	if last, asked := lastTransfer.Load(op.ID); asked && time.Since(last.(time.Time)) < 1200*time.Millisecond {
		// A transfer asked for just now can still complete (the tablet's
		// own wait for it ends after 1.1 s): check for the new leader
		// often, and ask again only after that.
		op.pollSoon = true
		return false, 0, nil
	}
	// A target that has not applied the latest membership change (say, its
	// own promotion) skips the campaign, and the transfer stalls for an
	// election timeout while the leader drops writes: wait for it first.
	lm, err1 := s.membership(ctx, leader, op.TID, op.PID)
	tmem, err2 := s.membership(ctx, target, op.TID, op.PID)
	if err1 != nil || err2 != nil {
		return false, 0, nil
	}
	if _, voter := tmem.Voters[r.ReplicaID]; !voter || tmem.ConfigChangeId < lm.ConfigChangeId || tmem.Applied+replication.CatchUpSlack < lm.Applied {
		return false, 0, nil
	}
	lastTransfer.Store(op.ID, time.Now())
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = tabletClient(leader).TransferLeader(cctx, connect.NewRequest(&openmldbv1.TransferLeaderRequest{Tid: op.TID, Pid: op.PID, TargetReplicaId: r.ReplicaID}))
	cancel()
	if err != nil && !transient(err) {
		return false, 0, err
	}
	op.pollSoon = err == nil
	return false, 0, nil
}
