package client

import (
	"context"
	"sync"

	"connectrpc.com/connect"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/coord"
)

// Concurrent single-row Puts to one partition are coalesced into one RPC:
// while up to maxInflight RPCs are under way, new rows wait and leave
// together with the next one. One HTTP round trip then carries many rows,
// which is what lets many small writers outrun a request-per-row protocol.
const (
	maxInflightPerPartition = 1
	maxRowsPerRPC           = 2000
)

type pendingRow struct {
	row  []byte
	id   *openmldbv1.RequestID
	done chan error
}

type partitionQueue struct {
	mu       sync.Mutex
	pending  []*pendingRow
	inflight int
}

func (c *Client) queueFor(tid, pid uint32) *partitionQueue {
	key := shardOf(tid, pid)
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q := c.queues[key]
	if q == nil {
		q = &partitionQueue{}
		c.queues[key] = q
	}
	return q
}

// putCoalesced queues one encoded row and waits for its batch.
func (c *Client) putCoalesced(ctx context.Context, tm *coord.TableMeta, pid uint32, row []byte, id *openmldbv1.RequestID) error {
	q := c.queueFor(tm.TID, pid)
	if id == nil {
		id = c.nextID()
	}
	p := &pendingRow{row: row, id: id, done: make(chan error, 1)}
	q.mu.Lock()
	q.pending = append(q.pending, p)
	start := q.inflight < maxInflightPerPartition
	if start {
		q.inflight++
	}
	q.mu.Unlock()
	if start {
		go c.drain(tm, pid, q)
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return mapErr(ctx.Err())
	}
}

// drain sends batches until the queue is empty.
func (c *Client) drain(tm *coord.TableMeta, pid uint32, q *partitionQueue) {
	for {
		q.mu.Lock()
		n := len(q.pending)
		if n == 0 {
			q.inflight--
			q.mu.Unlock()
			return
		}
		if n > maxRowsPerRPC {
			n = maxRowsPerRPC
		}
		batch := q.pending[:n:n]
		q.pending = append([]*pendingRow(nil), q.pending[n:]...)
		q.mu.Unlock()

		req := &openmldbv1.PutRequest{Tid: tm.TID, Pid: pid}
		for _, p := range batch {
			req.Rows = append(req.Rows, p.row)
			req.Ids = append(req.Ids, p.id)
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
		err := c.callLeader(ctx, tm, pid, func(ctx context.Context, t openmldbv1connect.TabletClient) error {
			_, err := t.Put(ctx, connect.NewRequest(req))
			return err
		})
		cancel()
		for _, p := range batch {
			p.done <- err
		}
	}
}
