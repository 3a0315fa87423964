package replication

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4"
	dbconfig "github.com/lni/dragonboat/v4/config"
	dblogger "github.com/lni/dragonboat/v4/logger"
	"github.com/lni/dragonboat/v4/raftio"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/openmldb-go/openmldb/internal/replication/raftnet"
)

// Sentinel errors at the package edge.
var (
	ErrNotLeader   = errors.New("not leader")
	ErrNoShard     = errors.New("partition replica not on this tablet")
	ErrUnavailable = errors.New("partition unavailable")
)

// StateMachine is what a partition replica applies. Apply and Save are
// never called concurrently with each other; Load runs with Apply
// excluded. A StateMachine that is also a Preparer has its snapshots
// written while Apply runs (see Preparer).
type StateMachine interface {
	// Apply applies one committed command at log index and returns a value for the proposer.
	Apply(index uint64, cmd []byte) (uint64, []byte)
	Save(w *bufio.Writer) error
	Load(r *bufio.Reader) error
	Close() error
}

// Preparer is a StateMachine whose snapshot is captured quickly, with
// Apply excluded, and written out while Apply goes on. A StateMachine that
// is not one has Apply excluded for the whole of a save, and dragonboat's
// apply worker, which serves several partitions, waits behind it.
type Preparer interface {
	Prepare() (SaveFunc, error)
}

// SaveFunc writes what Prepare captured; Release frees it. The adapter
// calls Release once it is done with the snapshot, written or abandoned
// (Release must tolerate being called more than once).
type SaveFunc struct {
	Save    func(w *bufio.Writer) error
	Release func()
}

// LeaderInfo reports a leader change seen by this host.
type LeaderInfo struct {
	ShardID, ReplicaID, LeaderID, Term uint64
}

// Config configures a Host.
type Config struct {
	Dir            string
	RaftAddress    string
	RTTMillisecond uint64
	ElectionRTT    uint64
	HeartbeatRTT   uint64
	// SnapshotEntries: take a snapshot every this many applied entries.
	SnapshotEntries uint64
	// SnapshotBytesPerSecond paces each outgoing snapshot stream (0: unpaced).
	SnapshotBytesPerSecond int64
	// SnapshotSyncBytes: sync the data directory's file system every this
	// many bytes of snapshot written or received (0: 1 MiB; < 0: never,
	// leaving only dragonboat's sync at each file's end).
	SnapshotSyncBytes int64
	OnLeader          func(LeaderInfo)
}

// Host is a tablet's Raft node host.
type Host struct {
	nh      *dragonboat.NodeHost
	cfg     Config
	redials atomic.Int64
	flush   *diskFlusher
}

// StepWorkers and LogShards are dragonboat's step-worker and log-shard
// counts. dragonboat records both in a tablet's Raft directory and refuses
// to open it with other values, so they are part of the on-disk format:
// changing either makes a new binary unable to start on an old tablet's
// data, which a rolling upgrade must never meet.
const (
	StepWorkers = 2
	LogShards   = 2
)

var quietOnce sync.Once

// NewHost starts the node host (it listens on cfg.RaftAddress).
func NewHost(cfg Config) (*Host, error) {
	quietOnce.Do(func() {
		for _, name := range []string{"dragonboat", "raft", "rsm", "transport", "grpc", "logdb", "raftpb", "config", "settings", "gossip", "registry", "tan"} {
			dblogger.GetLogger(name).SetLevel(dblogger.WARNING)
		}
	})
	if cfg.RTTMillisecond == 0 {
		cfg.RTTMillisecond = 50
	}
	if cfg.ElectionRTT == 0 {
		cfg.ElectionRTT = 20 // 1 s: below ~100 ms a 2-core box churns leaders
	}
	if cfg.HeartbeatRTT == 0 {
		cfg.HeartbeatRTT = 2
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = 50000
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("raft data directory: %w", err)
	}
	h := &Host{cfg: cfg, flush: newDiskFlusher(cfg.Dir, cfg.SnapshotSyncBytes)}
	nhc := dbconfig.NodeHostConfig{
		NodeHostDir:       filepath.Join(cfg.Dir, "nodehost"),
		WALDir:            LogStoreDir(cfg.Dir),
		RTTMillisecond:    cfg.RTTMillisecond,
		RaftAddress:       cfg.RaftAddress,
		RaftEventListener: h,
	}
	// The default log store preallocates gigabytes; the small config keeps
	// a tablet's Raft log memory bounded.
	nhc.Expert.LogDB = dbconfig.GetSmallMemLogDBConfig()
	// Few log shards and step workers: the log writes of many partitions
	// then share one fdatasync. With the defaults (16 of each) every
	// partition pays its own, and on a small box fsyncs eat the CPU.
	nhc.Expert.LogDB.Shards = LogShards
	eng := dbconfig.GetDefaultEngineConfig()
	eng.ExecShards = StepWorkers
	eng.ApplyShards = 2
	eng.CommitShards = 2
	nhc.Expert.Engine = eng
	// Our transport speaks dragonboat's wire format but redials a stream
	// the peer closed instead of tripping the circuit breaker (raftnet's
	// doc.go says why that matters for a rolling upgrade).
	nhc.Expert.TransportFactory = raftnet.Factory{Redials: &h.redials, SnapshotBytesPerSecond: cfg.SnapshotBytesPerSecond, ChunkWritten: h.flush.wrote}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		return nil, fmt.Errorf("starting raft node host on %s: %w", cfg.RaftAddress, err)
	}
	h.nh = nh
	return h, nil
}

// LeaderUpdated implements raftio.IRaftEventListener.
func (h *Host) LeaderUpdated(info raftio.LeaderInfo) {
	if h.cfg.OnLeader != nil {
		h.cfg.OnLeader(LeaderInfo{ShardID: info.ShardID, ReplicaID: info.ReplicaID, LeaderID: info.LeaderID, Term: info.Term})
	}
}

// StreamRedials counts the Raft sends that found their stream to a peer
// closed (the peer stopped or restarted) and dialled it again.
func (h *Host) StreamRedials() int64 { return h.redials.Load() }

// Close stops every replica and the host.
func (h *Host) Close() {
	h.nh.Close()
	h.flush.close()
}

// ReplicaID derives a tablet's replica id from its endpoint: stable, unique
// in practice (64-bit hash) and needing no coordination.
func ReplicaID(endpoint string) uint64 {
	f := fnv.New64a()
	_, _ = f.Write([]byte(endpoint))
	return f.Sum64() | 1
}

// CatchUpSlack is how many log entries behind its leader a replica may be
// and still count as caught up (entries committed while we looked; a
// healthy follower under load is a few behind).
const CatchUpSlack = 8

// ReplicaProgress is what a replica's tablet reports: the group's voters
// as it sees them, and how far it has applied.
type ReplicaProgress struct {
	Voters  map[uint64]string
	Applied uint64
}

// KeepsUpWithout asks the leader's tablet and those of the other voters
// (members maps replica id to tablet; ask queries one) how far they have
// applied, and reports whether the group, without replica without, still
// has a majority of voters that keep up with the leader (MajorityCaughtUp).
// applied is what was learned, for messages.
func KeepsUpWithout(members map[uint64]string, leaderEP string, without uint64, ask func(ep string) (ReplicaProgress, error)) (ok bool, leaderApplied uint64, applied map[uint64]uint64, err error) {
	lp, err := ask(leaderEP)
	if err != nil {
		return false, 0, nil, err
	}
	applied = map[uint64]uint64{}
	for id, ep := range members {
		if ep == leaderEP {
			applied[id] = lp.Applied
			continue
		}
		if _, voter := lp.Voters[id]; !voter || id == without {
			continue
		}
		if p, err := ask(ep); err == nil {
			applied[id] = p.Applied
		}
	}
	return MajorityCaughtUp(lp.Voters, without, lp.Applied, applied, CatchUpSlack), lp.Applied, applied, nil
}

// MajorityCaughtUp reports whether, of voters without the one being taken
// away (removed, or stopped for an upgrade), more than half have applied
// within slack entries of leaderApplied; applied holds the indexes known,
// by replica id. A group that loses a member while this is false cannot
// commit until the laggards catch up, and its leader steps down (check
// quorum) if that takes an election timeout.
func MajorityCaughtUp(voters map[uint64]string, without, leaderApplied uint64, applied map[uint64]uint64, slack uint64) bool {
	stay, fresh := 0, 0
	for id := range voters {
		if id == without {
			continue
		}
		stay++
		if a, ok := applied[id]; ok && a+slack >= leaderApplied {
			fresh++
		}
	}
	return fresh > stay/2
}

// ShardID names a partition's Raft group.
func ShardID(tid, pid uint32) uint64 { return uint64(tid)<<16 | uint64(pid) }

// StartReplica starts (or restarts from disk) this host's replica of a
// group. members maps replica id to raft address for a new group; on
// restart the group's own configuration on disk wins. join=true starts a
// replica that was added to an existing group.
func (h *Host) StartReplica(shardID, replicaID uint64, members map[uint64]string, join, nonVoting bool, create func() StateMachine) error {
	cfg := dbconfig.Config{
		ShardID: shardID, ReplicaID: replicaID, IsNonVoting: nonVoting,
		ElectionRTT: h.cfg.ElectionRTT, HeartbeatRTT: h.cfg.HeartbeatRTT,
		CheckQuorum: true, PreVote: true,
		SnapshotEntries: h.cfg.SnapshotEntries, CompactionOverhead: h.cfg.SnapshotEntries / 5,
	}
	if join || h.nh.HasNodeInfo(shardID, replicaID) {
		// Joining, or restarting from disk: the group's configuration comes
		// from the log, and dragonboat rejects a member list that differs
		// from the one it was bootstrapped with.
		members = nil
	}
	machine := create()
	_, concurrent := machine.(Preparer)
	restart := h.nh.HasNodeInfo(shardID, replicaID)
	if concurrent && restart && !h.madeConcurrent(shardID, replicaID) {
		// Made by a build before concurrent snapshots: dragonboat records
		// a replica's state machine kind and refuses to restart it as the
		// other (both write the same snapshot bytes, so one group may mix
		// them). It keeps saving with applies held until it is re-created.
		concurrent = false
	}
	err := h.start(members, join, cfg, machine, concurrent)
	if errors.Is(err, dragonboat.ErrInvalidShardSettings) && restart {
		// The marker below was lost (a crash right after the start): the
		// other kind is the recorded one.
		concurrent = !concurrent
		err = h.start(members, join, cfg, machine, concurrent)
	}
	if err == nil && concurrent {
		h.markConcurrent(shardID, replicaID)
	}
	if errors.Is(err, dragonboat.ErrShardAlreadyExist) {
		return nil
	}
	return err
}

// LogStoreDir is where a host whose Raft directory is dir keeps the Raft
// log and the votes of all its replicas.
func LogStoreDir(dir string) string { return filepath.Join(dir, "wal") }

// Forgot reports whether this host ran its replica of a group before (its
// kind marker says so) but holds no Raft state for it now: the replica
// forgot its log and votes and must not rejoin under its id. Only
// concurrent replicas carry the marker; replicas made by older builds
// are not recognised this way.
func (h *Host) Forgot(shardID, replicaID uint64) bool {
	return h.madeConcurrent(shardID, replicaID) && !h.nh.HasNodeInfo(shardID, replicaID)
}

// kindMarker is the file that says this host's replica of a group was
// started as a concurrent state machine, so that its restarts pick that
// kind first instead of failing dragonboat's check with the other.
func (h *Host) kindMarker(shardID, replicaID uint64) string {
	return filepath.Join(h.cfg.Dir, "concurrent-replicas", fmt.Sprintf("%d-%d", shardID, replicaID))
}

func (h *Host) madeConcurrent(shardID, replicaID uint64) bool {
	_, err := os.Stat(h.kindMarker(shardID, replicaID))
	return err == nil
}

// markConcurrent records the kind; losing the marker costs only a failed
// first attempt at the next restart.
func (h *Host) markConcurrent(shardID, replicaID uint64) {
	path := h.kindMarker(shardID, replicaID)
	if _, err := os.Stat(path); err == nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
		_ = os.WriteFile(path, nil, 0o644)
	}
}

func (h *Host) start(members map[uint64]string, join bool, cfg dbconfig.Config, machine StateMachine, concurrent bool) error {
	if concurrent {
		prep, _ := machine.(Preparer)
		return h.nh.StartConcurrentReplica(members, join, func(_, _ uint64) sm.IConcurrentStateMachine {
			return &concurrentAdapter{sm: machine, prep: prep, flush: h.flush}
		}, cfg)
	}
	return h.nh.StartReplica(members, join, func(_, _ uint64) sm.IStateMachine {
		return &adapter{sm: machine, flush: h.flush}
	}, cfg)
}

// StopReplica stops this host's replica of a group and, with removeData,
// deletes its log and snapshots.
func (h *Host) StopReplica(ctx context.Context, shardID, replicaID uint64, removeData bool) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := h.nh.StopReplica(shardID, replicaID); err != nil && !errors.Is(err, dragonboat.ErrShardNotFound) {
		return err
	}
	if removeData {
		if err := h.nh.SyncRemoveData(ctx, shardID, replicaID); err != nil {
			return err
		}
		_ = os.Remove(h.kindMarker(shardID, replicaID))
	}
	return nil
}

// Propose commits cmd through the group and returns the state machine's value.
func (h *Host) Propose(ctx context.Context, shardID uint64, cmd []byte) (uint64, []byte, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	res, err := h.nh.SyncPropose(ctx, h.nh.GetNoOPSession(shardID), cmd)
	if err != nil {
		return 0, nil, h.mapErr(shardID, err)
	}
	return res.Value, res.Data, nil
}

// ReadIndex waits until this replica has applied everything committed
// before the call (a linearizable read barrier).
func (h *Host) ReadIndex(ctx context.Context, shardID uint64) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	_, err := h.nh.SyncRead(ctx, shardID, nil)
	return h.mapErr(shardID, err)
}

// Leader returns the group's leader as this host knows it.
func (h *Host) Leader(shardID uint64) (leaderID, term uint64, ok bool) {
	id, term, valid, err := h.nh.GetLeaderID(shardID)
	if err != nil || !valid {
		return 0, 0, false
	}
	return id, term, true
}

// HasData reports whether this host has state on disk for the replica
// (it was started here before).
func (h *Host) HasData(shardID, replicaID uint64) bool { return h.nh.HasNodeInfo(shardID, replicaID) }

// HasReplica reports whether this host runs a replica of the group.
func (h *Host) HasReplica(shardID uint64) bool {
	_, _, _, err := h.nh.GetLeaderID(shardID)
	return !errors.Is(err, dragonboat.ErrShardNotFound)
}

// Membership is a group's configuration.
type Membership struct {
	Voters, NonVoters map[uint64]string
	Removed           map[uint64]bool
	// ConfigChangeID is the index of the last applied configuration change.
	ConfigChangeID uint64
}

// Membership returns the group's configuration as this replica has applied it.
func (h *Host) Membership(ctx context.Context, shardID uint64) (Membership, error) {
	// The read is linearizable, and dragonboat drops one asked of a
	// replica that knows no leader yet (a new replica before its first
	// heartbeat, say) without failing it: the call would then wait out
	// the caller's whole deadline. Callers poll, so answer at once, and
	// bound the wait for a read dropped for another reason.
	if _, _, ok := h.Leader(shardID); !ok {
		return Membership{}, fmt.Errorf("%w: shard %d: this replica knows no leader yet", ErrUnavailable, shardID)
	}
	ctx, cancel := context.WithTimeout(ctx, membershipReadTimeout)
	defer cancel()
	m, err := h.nh.SyncGetShardMembership(ctx, shardID)
	if err != nil {
		return Membership{}, h.mapErr(shardID, err)
	}
	out := Membership{Voters: m.Nodes, NonVoters: m.NonVotings, Removed: map[uint64]bool{}, ConfigChangeID: m.ConfigChangeID}
	for id := range m.Removed {
		out.Removed[id] = true
	}
	return out, nil
}

// membershipReadTimeout bounds Membership's linearizable read, which takes
// one heartbeat round when it is not dropped.
const membershipReadTimeout = time.Second

// AddNonVoting adds a replica that receives the log but does not vote.
func (h *Host) AddNonVoting(ctx context.Context, shardID, replicaID uint64, addr string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	return h.mapErr(shardID, h.nh.SyncRequestAddNonVoting(ctx, shardID, replicaID, addr, 0))
}

// SnapshotAndCompact takes a snapshot of the group's state machine on this
// host now and drops all but the last copyLogOverhead entries of the log
// behind it. A replica added next then receives that snapshot (paced like
// every snapshot stream) instead of the group's whole log, which it would
// have to append to its own log store, fsync and apply entry by entry.
// Returns the snapshot's index.
func (h *Host) SnapshotAndCompact(ctx context.Context, shardID uint64) (uint64, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	idx, err := h.nh.SyncRequestSnapshot(ctx, shardID, dragonboat.SnapshotOption{OverrideCompactionOverhead: true, CompactionOverhead: copyLogOverhead})
	if err != nil {
		return 0, h.mapErr(shardID, err)
	}
	return idx, nil
}

// copyLogOverhead is how many entries SnapshotAndCompact keeps behind the
// snapshot, so that followers a few entries behind still catch up from
// the log.
const copyLogOverhead = 64

// Promote makes a non-voting replica (or a new one) a voter.
func (h *Host) Promote(ctx context.Context, shardID, replicaID uint64, addr string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	return h.mapErr(shardID, h.nh.SyncRequestAddReplica(ctx, shardID, replicaID, addr, 0))
}

// RemoveMember removes a replica from the group (it can never rejoin with the same id).
func (h *Host) RemoveMember(ctx context.Context, shardID, replicaID uint64) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	return h.mapErr(shardID, h.nh.SyncRequestDeleteReplica(ctx, shardID, replicaID, 0))
}

// TransferLeader asks the group to move leadership to target.
func (h *Host) TransferLeader(shardID, target uint64) error {
	return h.mapErr(shardID, h.nh.RequestLeaderTransfer(shardID, target))
}

func (h *Host) mapErr(shardID uint64, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dragonboat.ErrShardNotFound):
		return fmt.Errorf("%w: shard %d", ErrNoShard, shardID)
	case errors.Is(err, dragonboat.ErrShardNotReady), errors.Is(err, dragonboat.ErrSystemBusy),
		errors.Is(err, dragonboat.ErrTimeout), errors.Is(err, dragonboat.ErrShardClosed),
		errors.Is(err, dragonboat.ErrAborted), errors.Is(err, dragonboat.ErrRejected),
		errors.Is(err, dragonboat.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// adapter turns our StateMachine into dragonboat's IStateMachine.
type adapter struct {
	sm    StateMachine
	flush *diskFlusher
}

func (a *adapter) Update(e sm.Entry) (sm.Result, error) {
	v, data := a.sm.Apply(e.Index, e.Cmd)
	return sm.Result{Value: v, Data: data}, nil
}

func (a *adapter) Lookup(any) (any, error) { return nil, nil }

func (a *adapter) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	return a.sm.Save(bufio.NewWriterSize(flushingWriter{w, a.flush}, 1<<16))
}

func (a *adapter) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	return a.sm.Load(bufio.NewReaderSize(r, 1<<16))
}

func (a *adapter) Close() error { return a.sm.Close() }

// concurrentAdapter turns our StateMachine into dragonboat's
// IConcurrentStateMachine: dragonboat calls PrepareSnapshot with Update
// excluded and SaveSnapshot while Update runs again. Without a Preparer
// (a replica recorded as concurrent restarted by a build whose machine
// cannot prepare) saves exclude updates through mu instead.
type concurrentAdapter struct {
	sm    StateMachine
	prep  Preparer
	flush *diskFlusher
	mu    sync.RWMutex

	// pending is the last prepared snapshot not yet written: dragonboat
	// runs one save per group at a time, and may drop a prepared one
	// (a failed snapshot file), so the next Prepare or Close releases it.
	pendingMu sync.Mutex
	pending   *SaveFunc
}

func (a *concurrentAdapter) Update(entries []sm.Entry) ([]sm.Entry, error) {
	if a.prep == nil {
		a.mu.Lock()
		defer a.mu.Unlock()
	}
	for i := range entries {
		v, data := a.sm.Apply(entries[i].Index, entries[i].Cmd)
		entries[i].Result = sm.Result{Value: v, Data: data}
	}
	return entries, nil
}

func (a *concurrentAdapter) Lookup(any) (any, error) { return nil, nil }

func (a *concurrentAdapter) PrepareSnapshot() (any, error) {
	if a.prep == nil {
		return nil, nil
	}
	f, err := a.prep.Prepare()
	if err != nil {
		return nil, err
	}
	a.pendingMu.Lock()
	if a.pending != nil {
		a.pending.Release()
	}
	a.pending = &f
	a.pendingMu.Unlock()
	return &f, nil
}

func (a *concurrentAdapter) SaveSnapshot(ctx any, w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	bw := bufio.NewWriterSize(flushingWriter{w, a.flush}, 1<<16)
	f, ok := ctx.(*SaveFunc)
	if !ok {
		a.mu.RLock()
		defer a.mu.RUnlock()
		return a.sm.Save(bw)
	}
	defer func() {
		f.Release()
		a.pendingMu.Lock()
		if a.pending == f {
			a.pending = nil
		}
		a.pendingMu.Unlock()
	}()
	return f.Save(bw)
}

func (a *concurrentAdapter) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	return a.sm.Load(bufio.NewReaderSize(r, 1<<16))
}

func (a *concurrentAdapter) Close() error {
	a.pendingMu.Lock()
	if a.pending != nil {
		a.pending.Release()
		a.pending = nil
	}
	a.pendingMu.Unlock()
	return a.sm.Close()
}

// bounded gives dragonboat's Sync calls the deadline they require.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, 10*time.Second)
}
