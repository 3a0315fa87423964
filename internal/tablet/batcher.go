package tablet

import (
	"context"
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
}

type batcher struct {
	host    *replication.Host
	shardID uint64
	queue   chan *putWork
	stop    chan struct{}
	// paused holds proposals (writes wait in the queue) around a leader
	// transfer; see data.TransferLeader.
	paused atomic.Bool
}

func (b *batcher) pause()  { b.paused.Store(true) }
func (b *batcher) resume() { b.paused.Store(false) }

func newBatcher(h *replication.Host, shardID uint64) *batcher {
	b := &batcher{host: h, shardID: shardID, queue: make(chan *putWork, 4096), stop: make(chan struct{})}
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
		for b.paused.Load() {
			select {
			case <-b.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
		cmd := putCmd{insertTS: time.Now().UnixMilli()}
		for _, w := range batch {
			cmd.ids = append(cmd.ids, w.ids...)
			cmd.rows = append(cmd.rows, w.rows...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), proposeTimout)
		applied, _, err := b.host.Propose(ctx, b.shardID, encodePut(cmd))
		cancel()
		for _, w := range batch {
			w.done <- putResult{applied: applied, err: err}
		}
	}
}
