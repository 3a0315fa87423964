package tablet

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/replication"
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
		d.snapshotBeforeCopy(ctx, h)
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

// A partition holding at least copyBySnapshotBytes is copied to a new
// replica from a snapshot taken just before the replica is added, not by
// replaying its Raft log: a young partition has never reached
// SnapshotEntries, and replaying its whole log means the receiving tablet
// appends and fsyncs all of it through the log store every other partition
// of that tablet commits through (docs/operations/upgrade.md: at 500,000
// rows the typical partition's longest write gap went from 655-671 ms to
// 347-383 ms, about its baseline).
// A small partition replays faster than a snapshot is taken and sent.
const copyBySnapshotBytes = 8 << 20

// copySnapshotReuse: a snapshot taken for one copy also serves the next
// while the partition has applied fewer entries than this since (pre-upgrade
// adds two replicas to a 1-replica partition one after the other).
const copySnapshotReuse = 1000

// snapshotBeforeCopy takes that snapshot when the partition is large enough
// and has none recent; if it cannot, the new replica replays the log as
// before.
func (d *data) snapshotBeforeCopy(ctx context.Context, h *hosted) {
	if h.rep.part.Stats().MemoryBytes < copyBySnapshotBytes {
		return
	}
	if last := h.copySnapshot.Load(); last != 0 && h.rep.applied.Load() < last+copySnapshotReuse {
		return
	}
	start := time.Now()
	idx, err := d.host.SnapshotAndCompact(ctx, h.rep.shardID)
	if err != nil {
		d.s.log.Warn("snapshot before adding a replica failed; the new replica replays the log", "tid", h.rep.tid, "pid", h.rep.pid, "err", err)
		return
	}
	h.copySnapshot.Store(idx)
	d.s.log.Info("snapshot taken for a new replica", "tid", h.rep.tid, "pid", h.rep.pid, "index", idx, "took", time.Since(start).Round(time.Millisecond))
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
	// wait in the queue, they are not dropped), let the batch under way
	// finish, wait until the target has applied everything this leader
	// has, then transfer; release the queue once leadership has moved or
	// the attempt is over.
	target := d.replicaEndpoint(h, req.Msg.TargetReplicaId)
	asked := time.Now()
	if target != "" {
		// First, with writes flowing, until the target has applied what
		// this leader had applied when asked: a target far behind (busy
		// box, fresh replica) must not cost a long pause.
		if err := d.waitTargetApplied(ctx, h, target, h.rep.applied.Load(), transferCatchUp, catchUpPoll, false); err != nil {
			return nil, err
		}
	}
	caughtUp := time.Now()
	h.batch.pause()
	paused := time.Now()
	if target == "" {
		time.Sleep(transferSettle)
	} else if err := d.waitTargetApplied(ctx, h, target, h.rep.applied.Load(), transferPaused, pausedPoll, true); err != nil {
		h.batch.resume()
		return nil, err
	}
	handedOver := time.Now()
	if err := d.host.TransferLeader(h.rep.shardID, req.Msg.TargetReplicaId); err != nil {
		h.batch.resume()
		return nil, rpcErr(err)
	}
	if target != "" {
		// The held writes, and new ones, go to the target now: it holds
		// them for its election (leadExpectedUntil), which they would
		// otherwise wait out here, then wait again for this replica to
		// hear of the new leader and for the client's second try.
		h.movingTo.Store(&target)
	}
	go func() {
		defer h.batch.resume()
		defer h.movingTo.Store(nil)
		deadline := time.Now().Add(1100 * time.Millisecond)
		for time.Now().Before(deadline) {
			if id, _, ok := d.host.Leader(h.rep.shardID); ok && id != h.myID {
				// The phases of the pause writes see, for operators
				// reading a write-latency spike against a leader move.
				d.s.log.Info("leadership handed over", "tid", h.rep.tid, "pid", h.rep.pid, "to", target,
					"catch_up", caughtUp.Sub(asked).Round(100*time.Microsecond),
					"batch_drain", paused.Sub(caughtUp).Round(100*time.Microsecond),
					"target_applied", handedOver.Sub(paused).Round(100*time.Microsecond),
					"elected", time.Since(handedOver).Round(100*time.Microsecond),
					"writes_held", time.Since(caughtUp).Round(100*time.Microsecond))
				return
			}
			time.Sleep(time.Millisecond)
		}
		d.s.log.Warn("leadership did not move within 1.1 s of the transfer request", "tid", h.rep.tid, "pid", h.rep.pid, "to", target)
	}()
	return connect.NewResponse(&openmldbv1.TransferLeaderResponse{}), nil
}

// waitTargetApplied polls the target replica's tablet every poll until it
// has applied index want, for at most limit. With writes paused, the
// leader's applied index is the end of the log.
func (d *data) waitTargetApplied(ctx context.Context, h *hosted, ep string, want uint64, limit, poll time.Duration, handingOver bool) error {
	peer := openmldbv1connect.NewTabletClient(peerHTTP, "http://"+ep)
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, limit)
		// The target answers once it has applied want (tablets before
		// wait_offset answer at once, and are polled).
		waitMs := uint32(max(time.Until(deadline).Milliseconds(), 1))
		resp, err := peer.GetTableStatus(cctx, connect.NewRequest(&openmldbv1.GetTableStatusRequest{Tid: h.rep.tid, Pid: h.rep.pid,
			WaitOffset: want, WaitMs: waitMs, TransferTarget: handingOver}))
		cancel()
		if err == nil && len(resp.Msg.Partitions) == 1 && resp.Msg.Partitions[0].Offset >= want {
			return nil
		}
		if time.Now().After(deadline) {
			// Refuse rather than risk a transfer that stalls writes for an
			// election timeout; the op asks again.
			got := "unknown"
			if err == nil && len(resp.Msg.Partitions) == 1 {
				got = fmt.Sprint(resp.Msg.Partitions[0].Offset)
			}
			return connect.NewError(connect.CodeUnavailable, fmt.Errorf("%w: transfer target %s of tid %d pid %d has applied %s of %d after %s",
				replication.ErrUnavailable, ep, h.rep.tid, h.rep.pid, got, want, limit))
		}
		time.Sleep(poll)
	}
}

// peerHTTP carries the tablet's own calls to other tablets.
var peerHTTP = &http.Client{Timeout: 5 * time.Second}

// transferCatchUp bounds the wait, writes flowing, for a transfer target
// to come close to the leader; transferPaused bounds the wait, writes
// held, for it to apply the rest. Past either the transfer is refused and
// the op tries again.
// Polls are RPCs to a busy peer: while writes flow a few ms of lag cost
// nothing, so the first wait asks less often; while they are held every
// ms counts.
const (
	transferCatchUp = 2 * time.Second
	transferPaused  = 100 * time.Millisecond
	catchUpPoll     = 5 * time.Millisecond
	pausedPoll      = time.Millisecond
)

// transferSettle is how long writes are held before a leader transfer to
// a target whose progress cannot be asked, so that it has applied
// everything committed when it is asked to campaign.
const transferSettle = 60 * time.Millisecond
