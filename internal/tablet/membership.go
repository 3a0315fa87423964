package tablet

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
)

// Membership reports the group configuration this replica has applied.
func (d *data) Membership(ctx context.Context, req *connect.Request[openmldbv1.MembershipRequest]) (*connect.Response[openmldbv1.MembershipResponse], error) {
	h, err := d.get(req.Msg.Tid, req.Msg.Pid)
	if err != nil {
		return nil, err
	}
	m, err := d.host.Membership(ctx, h.rep.shardID)
	if err != nil {
		return nil, rpcErr(err)
	}
	resp := &openmldbv1.MembershipResponse{Voters: m.Voters, NonVoters: m.NonVoters, Applied: h.rep.applied.Load(), ConfigChangeId: m.ConfigChangeID}
	if id, term, ok := d.host.Leader(h.rep.shardID); ok {
		resp.LeaderReplicaId, resp.Term = id, term
	}
	return connect.NewResponse(resp), nil
}

// ChangeMembership adds a learner, promotes it, or removes a member. It is
// idempotent: a change already in the configuration succeeds at once.
func (d *data) ChangeMembership(ctx context.Context, req *connect.Request[openmldbv1.ChangeMembershipRequest]) (*connect.Response[openmldbv1.ChangeMembershipResponse], error) {
	m := req.Msg
	h, err := d.get(m.Tid, m.Pid)
	if err != nil {
		return nil, err
	}
	if err := d.checkLeader(h); err != nil {
		return nil, err
	}
	cur, err := d.host.Membership(ctx, h.rep.shardID)
	if err != nil {
		return nil, rpcErr(err)
	}
	if cur.Removed[m.ReplicaId] && m.Action != openmldbv1.ChangeMembershipRequest_REMOVE {
		return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("replica id %d was removed from tid %d pid %d and cannot rejoin under that id", m.ReplicaId, m.Tid, m.Pid))
	}
	_, voter := cur.Voters[m.ReplicaId]
	_, learner := cur.NonVoters[m.ReplicaId]
	switch m.Action {
	case openmldbv1.ChangeMembershipRequest_ADD_NON_VOTING:
		if voter || learner {
			break
		}
		err = d.host.AddNonVoting(ctx, h.rep.shardID, m.ReplicaId, m.RaftAddress)
	case openmldbv1.ChangeMembershipRequest_PROMOTE:
		if voter {
			break
		}
		err = d.host.Promote(ctx, h.rep.shardID, m.ReplicaId, m.RaftAddress)
	case openmldbv1.ChangeMembershipRequest_REMOVE:
		if m.ReplicaId == h.myID {
			return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("cannot remove the leader replica; change the leader first"))
		}
		if !voter && !learner {
			break
		}
		err = d.host.RemoveMember(ctx, h.rep.shardID, m.ReplicaId)
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown membership action %v", m.Action))
	}
	if err != nil {
		return nil, rpcErr(err)
	}
	d.s.log.Info("membership changed", "tid", m.Tid, "pid", m.Pid, "action", m.Action.String(), "replica_id", m.ReplicaId)
	return connect.NewResponse(&openmldbv1.ChangeMembershipResponse{}), nil
}

// TransferLeader asks the group to move leadership to a member.
func (d *data) TransferLeader(ctx context.Context, req *connect.Request[openmldbv1.TransferLeaderRequest]) (*connect.Response[openmldbv1.TransferLeaderResponse], error) {
	h, err := d.get(req.Msg.Tid, req.Msg.Pid)
	if err != nil {
		return nil, err
	}
	id, _, ok := d.host.Leader(h.rep.shardID)
	if !ok || id != h.myID {
		if err := d.host.TransferLeader(h.rep.shardID, req.Msg.TargetReplicaId); err != nil {
			return nil, rpcErr(err)
		}
		return connect.NewResponse(&openmldbv1.TransferLeaderResponse{}), nil
	}
	// dragonboat's target skips its campaign while it has committed entries
	// it has not applied yet, and the leader then drops writes until the
	// transfer times out (an election timeout). So hold new proposals (they
	// wait in the queue, they are not dropped), give the followers a moment
	// to apply what is committed, then transfer; release the queue once
	// leadership has moved or the attempt is over.
	h.batch.pause()
	time.Sleep(transferSettle)
	if err := d.host.TransferLeader(h.rep.shardID, req.Msg.TargetReplicaId); err != nil {
		h.batch.resume()
		return nil, rpcErr(err)
	}
	go func() {
		defer h.batch.resume()
		deadline := time.Now().Add(1100 * time.Millisecond)
		for time.Now().Before(deadline) {
			if id, _, ok := d.host.Leader(h.rep.shardID); ok && id != h.myID {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return connect.NewResponse(&openmldbv1.TransferLeaderResponse{}), nil
}

// transferSettle is how long writes are held before a leader transfer so
// that the target has applied everything committed when it is asked to
// campaign.
const transferSettle = 60 * time.Millisecond
