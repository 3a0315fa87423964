package nameserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/internal/coord"
)

// Op statuses, as OpenMLDB names them.
const (
	OpInited   = "kInited"
	OpDoing    = "kDoing"
	OpDone     = "kDone"
	OpFailed   = "kFailed"
	OpCanceled = "kCanceled"
)

// Op types.
const (
	OpAddReplica   = "kAddReplicaOP"
	OpDelReplica   = "kDelReplicaOP"
	OpMigrate      = "kMigrateOP"
	OpChangeLeader = "kChangeLeaderOP"
	OpRecoverTable = "kRecoverTableOP"
	// OpOfflineReplica moves leadership off a replica and marks it not alive.
	OpOfflineReplica = "kOfflineReplicaOP"
	// OpUpdatePartitionStatus marks a replica alive or not.
	OpUpdatePartitionStatus = "kUpdatePartitionStatusOP"
)

// Op is one operation on one partition: an ordered list of idempotent
// tasks, each finished when the observed state says so. It is persisted in
// etcd after every step, so a new leader resumes it where it stood.
type Op struct {
	ID        uint64    `json:"op_id"`
	Type      string    `json:"op_type"`
	DB        string    `json:"db"`
	Table     string    `json:"table"`
	TID       uint32    `json:"tid"`
	PID       uint32    `json:"pid"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Tasks     []string  `json:"tasks"`
	Cur       int       `json:"cur"`
	Created   time.Time `json:"created"`
	Started   time.Time `json:"started,omitempty"`
	Ended     time.Time `json:"ended,omitempty"`
	Endpoint  string    `json:"endpoint,omitempty"` // replica added/deleted/recovered, or new leader
	Src       string    `json:"src,omitempty"`
	Dst       string    `json:"dst,omitempty"`
	ReplicaID uint64    `json:"replica_id,omitempty"` // id of a replica being added
	Alive     bool      `json:"alive,omitempty"`      // kUpdatePartitionStatusOP: the new state
	Cancel    bool      `json:"cancel,omitempty"`
	// pollSoon, set by a task that has just asked a tablet for something
	// that completes in milliseconds (a leader transfer), makes the next
	// check come after transferPoll instead of taskPoll. Not stored.
	pollSoon bool
}

// taskPoll is how long a task that is not done yet waits before it is
// checked again; transferPoll replaces it right after a leader transfer
// was requested, which completes in tens of milliseconds: with taskPoll
// each kChangeLeaderOP took ~250 ms, and pre-upgrade moves leaders one
// at a time.
const (
	taskPoll     = 200 * time.Millisecond
	transferPoll = 10 * time.Millisecond
)

func (o *Op) finished() bool {
	return o.Status == OpDone || o.Status == OpFailed || o.Status == OpCanceled
}

// CurTask names the task in progress (or the last one).
func (o *Op) CurTask() string {
	if len(o.Tasks) == 0 {
		return "-"
	}
	if o.Cur >= len(o.Tasks) {
		return o.Tasks[len(o.Tasks)-1]
	}
	return o.Tasks[o.Cur]
}

// keepFinished bounds how many done/canceled ops are kept; failed ones stay
// until deleted.
const keepFinished = 200

// opEngine runs ops on the leader.
type opEngine struct {
	s           *Server
	mu          sync.Mutex
	ops         map[uint64]*Op
	running     map[uint64]bool
	concurrency int
	// copyConcurrency bounds the running ops that copy a partition: each
	// streams a snapshot to a new replica, and a few at once saturate a
	// small box's CPU, which stalls every partition's writes (measured at
	// 300,000 rows: longest write gap max 800-1,534 ms with 4 copies at
	// once, 827-916 ms with one; docs/operations/upgrade.md).
	copyConcurrency int
	wake            chan struct{}
	// runTask advances one task (Server.runTask; replaced in tests).
	runTask func(ctx context.Context, op *Op, task string) (done bool, skipTo int, err error)
}

func newOpEngine(s *Server, concurrency, copyConcurrency int) *opEngine {
	if concurrency < 1 {
		concurrency = 1
	}
	if copyConcurrency < 1 {
		copyConcurrency = 1
	}
	return &opEngine{s: s, ops: map[uint64]*Op{}, running: map[uint64]bool{}, concurrency: concurrency,
		copyConcurrency: copyConcurrency, wake: make(chan struct{}, 1), runTask: s.runTask}
}

func (e *opEngine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run loads every op and schedules until ctx ends (leadership lost).
func (e *opEngine) run(ctx context.Context) error {
	resp, err := e.s.cli.Get(ctx, e.s.keys.OpPrefix(), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("loading ops: %w", err)
	}
	e.mu.Lock()
	e.ops = map[uint64]*Op{}
	for _, kv := range resp.Kvs {
		var op Op
		if err := json.Unmarshal(kv.Value, &op); err != nil {
			e.s.log.Warn("skipping unreadable op", "key", string(kv.Key), "err", err)
			continue
		}
		e.ops[op.ID] = &op
		if !op.finished() {
			e.s.log.Info("resuming op", "op_id", op.ID, "op_type", op.Type, "task", op.CurTask())
		}
	}
	e.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		e.schedule(ctx, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-e.wake:
		}
	}
}

// copiesData: the op streams a snapshot of the partition to a new replica.
func (o *Op) copiesData() bool { return o.Type == OpAddReplica || o.Type == OpMigrate }

func (e *opEngine) schedule(ctx context.Context, wg *sync.WaitGroup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range runnable(e.ops, e.running, e.concurrency, e.copyConcurrency) {
		e.running[id] = true
		cp := *e.ops[id]
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.execute(ctx, &cp)
			e.mu.Lock()
			delete(e.running, cp.ID)
			e.mu.Unlock()
			e.poke()
		}()
	}
}

// runnable picks the ops to start now, oldest first: one op at a time per
// partition (the oldest unfinished one), at most concurrency running in
// all and copyConcurrency of them copying a partition.
func runnable(ops map[uint64]*Op, running map[uint64]bool, concurrency, copyConcurrency int) []uint64 {
	ids := make([]uint64, 0, len(ops))
	for id := range ops {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	total, copying := len(running), 0
	for id := range running {
		if op, ok := ops[id]; ok && op.copiesData() {
			copying++
		}
	}
	busy := map[[2]uint32]bool{} // partitions with an earlier unfinished op
	var start []uint64
	for _, id := range ids {
		op := ops[id]
		if op.finished() {
			continue
		}
		part := [2]uint32{op.TID, op.PID}
		if busy[part] {
			continue
		}
		busy[part] = true
		if running[id] || total >= concurrency {
			continue
		}
		if op.copiesData() {
			if copying >= copyConcurrency {
				continue
			}
			copying++
		}
		total++
		start = append(start, id)
	}
	return start
}

// execute runs op's remaining tasks in order.
func (e *opEngine) execute(ctx context.Context, op *Op) {
	log := e.s.log.With("op_id", op.ID, "op_type", op.Type, "table", op.Table, "pid", op.PID)
	if op.Status == OpInited {
		op.Status = OpDoing
		op.Started = time.Now().UTC()
		if err := e.save(ctx, op); err != nil {
			return
		}
	}
	var storeWarned time.Time
	for op.Cur < len(op.Tasks) {
		if e.cancelRequested(op.ID) {
			op.Status, op.Ended, op.Reason = OpCanceled, time.Now().UTC(), "canceled by request"
			_ = e.save(ctx, op)
			log.Info("op canceled", "task", op.CurTask())
			return
		}
		task := op.Tasks[op.Cur]
		op.pollSoon = false
		done, skipTo, err := e.runTask(ctx, op, task)
		if ctx.Err() != nil {
			return // leadership lost: the next leader resumes from the saved state
		}
		if coord.Transient(err) {
			// etcd electing a leader or shedding load says nothing about
			// the op: a coord member's restart must not fail the ops under
			// way. Poll again; if etcd stays away, this nameserver loses
			// its leadership and the next leader resumes the op.
			if time.Since(storeWarned) > 5*time.Second {
				storeWarned = time.Now()
				log.Warn("coordination store unavailable, retrying the task", "task", task, "err", err)
			}
			err, done = nil, false
		}
		if err != nil {
			op.Status, op.Ended, op.Reason = OpFailed, time.Now().UTC(), fmt.Sprintf("%s: %v", task, err)
			_ = e.save(ctx, op)
			log.Warn("op failed", "task", task, "err", err)
			return
		}
		if !done {
			wait := taskPoll
			if op.pollSoon {
				wait = transferPoll
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		log.Info("task done", "task", task)
		op.Cur++
		if skipTo > op.Cur {
			op.Cur = skipTo
		}
		if err := e.save(ctx, op); err != nil {
			return
		}
	}
	op.Status, op.Ended = OpDone, time.Now().UTC()
	_ = e.save(ctx, op)
	log.Info("op done", "took", op.Ended.Sub(op.Started).Round(time.Millisecond))
	e.prune(ctx)
}

func (e *opEngine) cancelRequested(id uint64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	op := e.ops[id]
	return op != nil && op.Cancel
}

// save persists op and publishes it to the engine's map.
func (e *opEngine) save(ctx context.Context, op *Op) error {
	e.mu.Lock()
	if cur := e.ops[op.ID]; cur != nil && cur.Cancel {
		op.Cancel = true
	}
	cp := *op
	e.ops[op.ID] = &cp
	e.mu.Unlock()
	b, _ := json.Marshal(op)
	_, err := e.s.cli.Put(ctx, e.s.keys.Op(op.ID), string(b))
	if err != nil && ctx.Err() == nil {
		e.s.log.Warn("persisting op failed", "op_id", op.ID, "err", err)
	}
	return err
}

// prune deletes the oldest done/canceled ops beyond keepFinished.
func (e *opEngine) prune(ctx context.Context) {
	e.mu.Lock()
	var done []uint64
	for id, op := range e.ops {
		if op.Status == OpDone || op.Status == OpCanceled {
			done = append(done, id)
		}
	}
	sort.Slice(done, func(i, j int) bool { return done[i] < done[j] })
	var drop []uint64
	if len(done) > keepFinished {
		drop = done[:len(done)-keepFinished]
		for _, id := range drop {
			delete(e.ops, id)
		}
	}
	e.mu.Unlock()
	for _, id := range drop {
		_, _ = e.s.cli.Delete(ctx, e.s.keys.Op(id))
	}
}

// submit persists new ops (kInited) and wakes the scheduler.
func (e *opEngine) submit(ctx context.Context, ops []*Op) ([]uint64, error) {
	var ids []uint64
	for _, op := range ops {
		id, err := e.s.nextCounter(ctx, e.s.keys.OpIndex())
		if err != nil {
			return ids, err
		}
		op.ID, op.Status, op.Created = id, OpInited, time.Now().UTC()
		if op.Type == OpAddReplica || op.Type == OpMigrate || op.Type == OpRecoverTable {
			op.ReplicaID = newReplicaID(op)
		}
		if err := e.save(ctx, op); err != nil {
			return ids, err
		}
		e.s.log.Info("op submitted", "op_id", id, "op_type", op.Type, "table", op.Table, "pid", op.PID)
		ids = append(ids, id)
	}
	e.poke()
	return ids, nil
}

func (e *opEngine) list() []Op {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Op, 0, len(e.ops))
	for _, op := range e.ops {
		out = append(out, *op)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var errOpFinished = errors.New("op already finished")

func (e *opEngine) cancel(ctx context.Context, id uint64) error {
	e.mu.Lock()
	op := e.ops[id]
	if op == nil {
		e.mu.Unlock()
		return fmt.Errorf("op %d does not exist", id)
	}
	if op.finished() {
		e.mu.Unlock()
		return fmt.Errorf("%w: op %d is %s", errOpFinished, id, op.Status)
	}
	op.Cancel = true
	running := e.running[id]
	cp := *op
	e.mu.Unlock()
	if !running {
		cp.Status, cp.Ended, cp.Reason = OpCanceled, time.Now().UTC(), "canceled by request"
	}
	return e.save(ctx, &cp)
}

func (e *opEngine) delete(ctx context.Context, id uint64, status string) (int, error) {
	e.mu.Lock()
	var victims []uint64
	for oid, op := range e.ops {
		if (id != 0 && oid == id) || (id == 0 && op.Status == status) {
			if !op.finished() {
				if id != 0 {
					e.mu.Unlock()
					return 0, fmt.Errorf("op %d is %s: cancel it first", id, op.Status)
				}
				continue
			}
			victims = append(victims, oid)
		}
	}
	for _, v := range victims {
		delete(e.ops, v)
	}
	e.mu.Unlock()
	if id != 0 && len(victims) == 0 {
		return 0, fmt.Errorf("op %d does not exist", id)
	}
	for _, v := range victims {
		if _, err := e.s.cli.Delete(ctx, e.s.keys.Op(v)); err != nil {
			return 0, err
		}
	}
	return len(victims), nil
}
