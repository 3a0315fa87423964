package tablet

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openmldb-go/openmldb/internal/replication"
)

// Group commit: concurrent writes to one partition wait in a queue; a few
// committers each take everything queued (up to maxBatchRows) and propose
// it as one Raft entry, so one fsync covers many writes.
const (
	maxBatchRows  = 2000
	committers    = 1
	proposeTimout = 5 * time.Second
)

type putWork struct {
	ctx  context.Context
	ids  []requestID
	rows [][]byte
	done chan putResult
}

type putResult struct {
	index   uint64
	applied uint64
	err     error
	// For the slow-write log: when the write's batch was proposed (zero
	// if it never was) and how many rows the batch carried.
	proposedAt time.Time
	batchRows  int
}

// proposer commits a command through a partition's Raft group
// (*replication.Host; a fake in tests).
type proposer interface {
	Propose(ctx context.Context, shardID uint64, cmd []byte) (uint64, []byte, error)
}

type batcher struct {
	host    proposer
	shardID uint64
	queue   chan *putWork
	stop    chan struct{}
	// pauses holds proposals (writes wait in the queue) while above zero:
	// one per leader transfer under way (see data.TransferLeader), so two
	// overlapping attempts cannot release each other's pause.
	pauses atomic.Int32
	// proposing is held while a batch is proposed, so pause can wait for
	// the batch under way to finish.
	proposing sync.Mutex
	// isLeader reports whether this replica still leads its group; queued
	// writes are refused at once, not proposed, once it does not.
	isLeader func() bool
	// movingTo, while writes are paused, names the replica leadership is
	// being handed to ("" if none, or nil): queued writes are sent there
	// (errMoving) instead of waiting for this replica to see the new leader.
	movingTo func() string
}

// errMoving answers a write queued at a leader that is handing over
// leadership: the client goes to the named replica, which waits for the
// election rather than turning it away.
type errMoving struct{ endpoint string }

func (e *errMoving) Error() string { return "leadership is moving to " + e.endpoint }
func (e *errMoving) Unwrap() error { return replication.ErrNotLeader }

// pause holds new proposals and returns once the one under way (if any)
// has committed and applied.
func (b *batcher) pause() {
	b.pauses.Add(1)
	b.proposing.Lock()
	b.proposing.Unlock() // empty on purpose: only waiting for the proposer
}

// resume undoes one pause.
func (b *batcher) resume() { b.pauses.Add(-1) }

func newBatcher(h proposer, shardID uint64, isLeader func() bool, movingTo func() string) *batcher {
	b := &batcher{host: h, shardID: shardID, queue: make(chan *putWork, 4096), stop: make(chan struct{}), isLeader: isLeader, movingTo: movingTo}
	for i := 0; i < committers; i++ {
		go b.run()
	}
	return b
}

func (b *batcher) close() { close(b.stop) }

func (b *batcher) submit(w *putWork) putResult {
	select {
	case b.queue <- w:
	case <-w.ctx.Done():
		return putResult{err: w.ctx.Err()}
	case <-b.stop:
		return putResult{err: replication.ErrNoShard}
	}
	select {
	case r := <-w.done:
		return r
	case <-w.ctx.Done():
		// The batch may still commit; the client retries with the same ids.
		return putResult{err: w.ctx.Err()}
	}
}

func (b *batcher) run() {
	for {
		var first *putWork
		select {
		case first = <-b.queue:
		case <-b.stop:
			return
		}
		batch := []*putWork{first}
		rows := len(first.rows)
	gather:
		for rows < maxBatchRows {
			select {
			case w := <-b.queue:
				batch = append(batch, w)
				rows += len(w.rows)
			default:
				break gather
			}
		}
		if !b.proposeBatch(batch) {
			return
		}
	}
}

// proposeBatch waits out a pause, then proposes the batch as one entry and
// answers every write in it. It returns false when the batcher stops.
func (b *batcher) proposeBatch(batch []*putWork) bool {
	b.proposing.Lock()
	for b.pauses.Load() > 0 {
		if b.movingTo != nil {
			if ep := b.movingTo(); ep != "" {
				b.proposing.Unlock()
				for _, w := range batch {
					w.done <- putResult{err: &errMoving{endpoint: ep}}
				}
				return true
			}
		}
		b.proposing.Unlock()
		select {
		case <-b.stop:
			return false
		case <-time.After(time.Millisecond):
		}
		b.proposing.Lock()
	}
	defer b.proposing.Unlock()
	if b.isLeader != nil && !b.isLeader() {
		// Leadership moved while these writes waited (a transfer): a
		// proposal here would only be dropped after a while. Refuse at
		// once so the client goes to the new leader.
		for _, w := range batch {
			w.done <- putResult{err: replication.ErrNotLeader}
		}
		return true
	}
	cmd := putCmd{insertTS: time.Now().UnixMilli()}
	for _, w := range batch {
		cmd.ids = append(cmd.ids, w.ids...)
		cmd.rows = append(cmd.rows, w.rows...)
	}
	proposedAt := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), proposeTimout)
	applied, _, err := b.host.Propose(ctx, b.shardID, encodePut(cmd))
	cancel()
	for _, w := range batch {
		w.done <- putResult{applied: applied, err: err, proposedAt: proposedAt, batchRows: len(cmd.rows)}
	}
	return true
}
