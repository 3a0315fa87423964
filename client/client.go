package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/codec"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/schema"
)

// Typed errors.
var (
	ErrNotFound        = errors.New("not found")
	ErrAlreadyExists   = errors.New("already exists")
	ErrTimeout         = errors.New("timeout")
	ErrUnavailable     = errors.New("unavailable")
	ErrInvalidArgument = errors.New("invalid argument")
)

// Options configure a Client.
type Options struct {
	// ZkCluster lists etcd endpoints (host:port); ZkRootPath the cluster's prefix.
	ZkCluster  []string
	ZkRootPath string
	// Timeout applies to calls whose context has no deadline (default 10 s).
	Timeout time.Duration
	// OnRetry, if set, is called for every failed attempt the client
	// retries (the endpoint tried and its error), for logging and metrics.
	// It runs on the writing goroutine: keep it quick.
	OnRetry func(endpoint string, err error)
}

// Client is safe for concurrent use.
type Client struct {
	opts     Options
	etcd     *clientv3.Client
	keys     coord.Keys
	http     *http.Client
	clientID uint64
	seq      atomic.Uint64

	mu      sync.RWMutex
	tables  map[string]*coord.TableMeta               // "db.table"
	leaders map[uint64]map[string]coord.ReplicaStatus // shard -> endpoint -> status
	tablets map[string]openmldbv1connect.TabletClient

	qmu    sync.Mutex
	queues map[uint64]*partitionQueue

	deployments deploymentCache

	cancel context.CancelFunc
	done   chan struct{}
	// Retries counts retried attempts, for tests and metrics.
	Retries atomic.Int64
}

// Connect opens a client and loads the cluster's metadata.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	if opts.ZkRootPath == "" {
		opts.ZkRootPath = "/openmldb"
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	etcd, err := coord.Connect(ctx, opts.ZkCluster, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	c := &Client{
		opts: opts, etcd: etcd, keys: coord.Keys{Root: opts.ZkRootPath},
		http: &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		}},
		clientID: binary.LittleEndian.Uint64(idb[:]) | 1,
		tables:   map[string]*coord.TableMeta{},
		leaders:  map[uint64]map[string]coord.ReplicaStatus{},
		tablets:  map[string]openmldbv1connect.TabletClient{},
		queues:   map[uint64]*partitionQueue{},
		done:     make(chan struct{}),
	}
	wctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	rev, err := c.load(ctx)
	if err != nil {
		cancel()
		etcd.Close()
		return nil, err
	}
	go c.watch(wctx, rev)
	return c, nil
}

// Close stops the watches and closes connections. Safe to call twice.
func (c *Client) Close() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	c.cancel()
	<-c.done
	return c.etcd.Close()
}

func shardOf(tid, pid uint32) uint64 { return uint64(tid)<<16 | uint64(pid) }

func (c *Client) load(ctx context.Context) (int64, error) {
	resp, err := c.etcd.Txn(ctx).Then(
		clientv3.OpGet(c.keys.TablePrefix(), clientv3.WithPrefix()),
		clientv3.OpGet(c.keys.ReplicaStatusPrefix(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return 0, fmt.Errorf("%w: loading metadata: %w", ErrUnavailable, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tables = map[string]*coord.TableMeta{}
	c.leaders = map[uint64]map[string]coord.ReplicaStatus{}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		c.applyTable(kv.Value)
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		c.applyStatus(string(kv.Key), kv.Value, false)
	}
	return resp.Header.Revision, nil
}

func (c *Client) applyTable(v []byte) {
	if tm := decodeTable(v); tm != nil {
		c.tables[tm.Table.DB+"."+tm.Table.Name] = tm
	}
}

func decodeTable(v []byte) *coord.TableMeta {
	var tm coord.TableMeta
	if json.Unmarshal(v, &tm) != nil {
		return nil
	}
	return &tm
}

// statusUpdate is one replica status key, decoded.
type statusUpdate struct {
	shard   uint64
	ep      string
	rs      coord.ReplicaStatus
	deleted bool
}

// decodeStatus parses a replica status key and value; ok is false for a
// key or value it cannot read.
func (c *Client) decodeStatus(key string, v []byte, deleted bool) (u statusUpdate, ok bool) {
	parts := strings.Split(strings.TrimPrefix(key, c.keys.ReplicaStatusPrefix()), "/")
	if len(parts) != 3 {
		return u, false
	}
	var tid, pid uint32
	if _, err := fmt.Sscan(parts[0], &tid); err != nil {
		return u, false
	}
	if _, err := fmt.Sscan(parts[1], &pid); err != nil {
		return u, false
	}
	u = statusUpdate{shard: shardOf(tid, pid), ep: parts[2], deleted: deleted}
	if !deleted && json.Unmarshal(v, &u.rs) != nil {
		return u, false
	}
	return u, true
}

func (c *Client) applyStatus(key string, v []byte, deleted bool) {
	if u, ok := c.decodeStatus(key, v, deleted); ok {
		c.setStatus(u)
	}
}

func (c *Client) setStatus(u statusUpdate) {
	if u.deleted {
		delete(c.leaders[u.shard], u.ep)
		return
	}
	if c.leaders[u.shard] == nil {
		c.leaders[u.shard] = map[string]coord.ReplicaStatus{}
	}
	c.leaders[u.shard][u.ep] = u.rs
}

func (c *Client) watch(ctx context.Context, rev int64) {
	defer close(c.done)
	for ctx.Err() == nil {
		wch := c.etcd.Watch(clientv3.WithRequireLeader(ctx), c.keys.Root+"/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
		for wr := range wch {
			if wr.Err() != nil {
				break
			}
			// Decode before taking the lock: every write reads the
			// routing under it, and a leader move publishes a burst of
			// status keys. Applied in the events' order (a table dropped
			// and created again in one batch must end up present).
			var updates []func()
			for _, ev := range wr.Events {
				key := string(ev.Kv.Key)
				switch {
				case strings.HasPrefix(key, c.keys.TablePrefix()):
					if ev.Type == clientv3.EventTypeDelete {
						name := strings.Replace(strings.TrimPrefix(key, c.keys.TablePrefix()), "/", ".", 1)
						updates = append(updates, func() { delete(c.tables, name) })
					} else if tm := decodeTable(ev.Kv.Value); tm != nil {
						updates = append(updates, func() { c.tables[tm.Table.DB+"."+tm.Table.Name] = tm })
					}
				case strings.HasPrefix(key, c.keys.ReplicaStatusPrefix()):
					if u, ok := c.decodeStatus(key, ev.Kv.Value, ev.Type == clientv3.EventTypeDelete); ok {
						updates = append(updates, func() { c.setStatus(u) })
					}
				}
			}
			if len(updates) > 0 {
				c.mu.Lock()
				for _, apply := range updates {
					apply()
				}
				c.mu.Unlock()
			}
			rev = wr.Header.Revision
		}
		if ctx.Err() != nil {
			return
		}
		// The watch broke (compaction, etcd failover): reload and resume.
		time.Sleep(200 * time.Millisecond)
		if r, err := c.load(ctx); err == nil {
			rev = r
		}
	}
}

// Table returns a table's definition.
func (c *Client) Table(db, name string) (schema.Table, error) {
	tm, err := c.tableMeta(db, name)
	if err != nil {
		return schema.Table{}, err
	}
	return tm.Table, nil
}

func (c *Client) tableMeta(db, name string) (*coord.TableMeta, error) {
	c.mu.RLock()
	tm := c.tables[db+"."+name]
	c.mu.RUnlock()
	if tm == nil {
		return nil, fmt.Errorf("%w: table %s in database %s", ErrNotFound, name, db)
	}
	return tm, nil
}

// Tables lists the tables of a database (all databases if db is empty).
func (c *Client) Tables(db string) []coord.TableMeta {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []coord.TableMeta
	for _, tm := range c.tables {
		if db == "" || tm.Table.DB == db {
			out = append(out, *tm)
		}
	}
	return out
}

// ReplicaStatuses returns what the replicas of a partition last reported.
func (c *Client) ReplicaStatuses(tid, pid uint32) map[string]coord.ReplicaStatus {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := map[string]coord.ReplicaStatus{}
	for k, v := range c.leaders[shardOf(tid, pid)] {
		out[k] = v
	}
	return out
}

// leader returns the endpoint reporting leadership with the highest term.
func (c *Client) leader(tm *coord.TableMeta, pid uint32) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	best, term := "", uint64(0)
	for ep, rs := range c.leaders[shardOf(tm.TID, pid)] {
		if rs.IsLeader && rs.Term >= term {
			best, term = ep, rs.Term
		}
	}
	if best == "" && len(tm.Partitions) > int(pid) && len(tm.Partitions[pid].Replicas) > 0 {
		best = tm.Partitions[pid].Replicas[0].Endpoint
	}
	return best
}

func (c *Client) tablet(ep string) openmldbv1connect.TabletClient {
	c.mu.RLock()
	t := c.tablets[ep]
	c.mu.RUnlock()
	if t != nil {
		return t
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t = c.tablets[ep]; t == nil {
		t = openmldbv1connect.NewTabletClient(c.http, "http://"+ep)
		c.tablets[ep] = t
	}
	return t
}

// Tablet returns an RPC client for a tablet endpoint (tools and tests).
func (c *Client) Tablet(ep string) openmldbv1connect.TabletClient { return c.tablet(ep) }

// PartitionOf returns the partition a row with these values belongs to:
// the hash of its first index's key.
func PartitionOf(t schema.Table, key string) uint32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return uint32(h.Sum64() % uint64(t.PartitionNum))
}

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.opts.Timeout)
}

// retryable reports whether an RPC error may succeed on another attempt,
// and a leader hint if the server named one.
func retryable(err error) (bool, string) {
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeFailedPrecondition:
			// Only "not leader" is worth another attempt; other
			// preconditions (too few tablets, non-empty db) are final.
			if ce.Meta().Get("x-openmldb-not-leader") != "" {
				return true, ce.Meta().Get("x-openmldb-leader")
			}
			return false, ""
		case connect.CodeUnavailable, connect.CodeNotFound, connect.CodeDeadlineExceeded, connect.CodeAborted, connect.CodeUnknown, connect.CodeCanceled:
			return true, ce.Meta().Get("x-openmldb-leader")
		}
		return false, ""
	}
	return true, ""
}

func mapErr(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeInvalidArgument:
			return fmt.Errorf("%w: %s", ErrInvalidArgument, ce.Message())
		case connect.CodeNotFound:
			return fmt.Errorf("%w: %s", ErrNotFound, ce.Message())
		case connect.CodeAlreadyExists:
			return fmt.Errorf("%w: %s", ErrAlreadyExists, ce.Message())
		case connect.CodeDeadlineExceeded:
			return fmt.Errorf("%w: %s", ErrTimeout, ce.Message())
		case connect.CodeUnavailable:
			return fmt.Errorf("%w: %s", ErrUnavailable, ce.Message())
		case connect.CodeFailedPrecondition:
			if ce.Meta().Get("x-openmldb-not-leader") != "" {
				return fmt.Errorf("%w: %s", ErrUnavailable, ce.Message())
			}
			return fmt.Errorf("%w: %s", ErrInvalidArgument, ce.Message())
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}

// callLeader runs fn against the partition leader, retrying retryable
// failures with backoff until ctx ends.
func (c *Client) callLeader(ctx context.Context, tm *coord.TableMeta, pid uint32, fn func(context.Context, openmldbv1connect.TabletClient) error) error {
	// Short, capped backoff: a leader move takes tens of milliseconds and
	// every millisecond of backoff past it is a write stall the user sees.
	backoff := 5 * time.Millisecond
	hint, failed := "", ""
	var last error
	for attempt := 0; ; attempt++ {
		ep := hint
		if ep == "" {
			ep = c.leader(tm, pid)
			if ep == failed {
				// The cached leader failed without naming another (gone,
				// moved away, restarting): ask the partition's other
				// replicas, any of which names the leader it knows.
				ep = c.otherReplica(tm, pid, failed, attempt)
			}
		}
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := fn(actx, c.tablet(ep))
		cancel()
		if err == nil {
			return nil
		}
		last = err
		ok, h := retryable(err)
		if !ok {
			return mapErr(err)
		}
		c.Retries.Add(1)
		if c.opts.OnRetry != nil {
			c.opts.OnRetry(ep, err)
		}
		if h != "" && h != ep && h != hint {
			// The replica named the new leader: go there at once.
			hint = h
			continue
		}
		hint = h
		if h == "" {
			failed = ep
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w after %d attempts: last error: %w", ErrTimeout, attempt+1, mapErr(last))
		case <-time.After(backoff):
		}
		if backoff < 50*time.Millisecond {
			backoff *= 2
		}
	}
}

// otherReplica picks, round robin by attempt, a replica endpoint of the
// partition other than avoid, from the newest metadata this client has;
// avoid itself if there is none.
func (c *Client) otherReplica(tm *coord.TableMeta, pid uint32, avoid string, attempt int) string {
	if fresh, err := c.tableMeta(tm.Table.DB, tm.Table.Name); err == nil {
		tm = fresh
	}
	if int(pid) >= len(tm.Partitions) {
		return avoid
	}
	var eps []string
	for _, r := range tm.Partitions[pid].Replicas {
		if r.Endpoint != avoid {
			eps = append(eps, r.Endpoint)
		}
	}
	if len(eps) == 0 {
		return avoid
	}
	return eps[attempt%len(eps)]
}

// nextID returns a fresh request id.
func (c *Client) nextID() *openmldbv1.RequestID {
	return &openmldbv1.RequestID{Client: c.clientID, Seq: c.seq.Add(1)}
}

// Row is a decoded row: one value per column (see schema.Normalize).
type Row []any

// Put writes one row (values in column order). Concurrent Puts to the
// same partition share RPCs (see coalesce.go).
func (c *Client) Put(ctx context.Context, db, table string, values []any) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	tm, err := c.tableMeta(db, table)
	if err != nil {
		return err
	}
	enc, key, err := encodeRow(tm.Table, values)
	if err != nil {
		return err
	}
	return c.putCoalesced(ctx, tm, PartitionOf(tm.Table, key), enc, nil)
}

// PutIdempotent writes one row like Put, under a request id derived from
// idempotencyKey: sending the same key again — after a timeout, from
// another process, through another apiserver — stores the row at most
// once, provided the retry comes within the partition's dedup window (its
// last 262,144 writes).
func (c *Client) PutIdempotent(ctx context.Context, db, table string, values []any, idempotencyKey string) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	tm, err := c.tableMeta(db, table)
	if err != nil {
		return err
	}
	enc, key, err := encodeRow(tm.Table, values)
	if err != nil {
		return err
	}
	h1, h2 := fnv.New64a(), fnv.New64()
	h1.Write([]byte("idempotency-key/" + idempotencyKey))
	h2.Write([]byte(idempotencyKey))
	id := &openmldbv1.RequestID{Client: h1.Sum64(), Seq: h2.Sum64()}
	return c.putCoalesced(ctx, tm, PartitionOf(tm.Table, key), enc, id)
}

// PutBatch writes rows, grouped by partition; it returns when all are
// committed or the first failure.
func (c *Client) PutBatch(ctx context.Context, db, table string, rows [][]any) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	tm, err := c.tableMeta(db, table)
	if err != nil {
		return err
	}
	byPart := map[uint32]*openmldbv1.PutRequest{}
	for _, values := range rows {
		enc, key, err := encodeRow(tm.Table, values)
		if err != nil {
			return err
		}
		pid := PartitionOf(tm.Table, key)
		req := byPart[pid]
		if req == nil {
			req = &openmldbv1.PutRequest{Tid: tm.TID, Pid: pid}
			byPart[pid] = req
		}
		req.Rows = append(req.Rows, enc)
		req.Ids = append(req.Ids, c.nextID())
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(byPart))
	for pid, req := range byPart {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.callLeader(ctx, tm, pid, func(ctx context.Context, t openmldbv1connect.TabletClient) error {
				_, err := t.Put(ctx, connect.NewRequest(req))
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// encodeRow normalizes and encodes values, returning the first index's key.
func encodeRow(t schema.Table, values []any) ([]byte, string, error) {
	if len(values) != len(t.Columns) {
		return nil, "", fmt.Errorf("%w: table %s has %d columns, got %d values", ErrInvalidArgument, t.Name, len(t.Columns), len(values))
	}
	norm := make([]any, len(values))
	for i, col := range t.Columns {
		v, err := schema.Normalize(col, values[i])
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
		norm[i] = v
	}
	enc, err := codec.Encode(t.Columns, norm)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return enc, keyOf(t, 0, norm), nil
}

func keyOf(t schema.Table, index int, values []any) string {
	ix := t.Indexes[index]
	parts := make([]string, len(ix.Keys))
	for i, k := range ix.Keys {
		parts[i] = codec.KeyText(values[t.ColumnIndex(k)])
	}
	return codec.JoinKey(parts)
}

// ScanOptions select rows of one key: ts in (To, From], newest first.
type ScanOptions struct {
	Index        string // default: the first index
	From, To     int64
	Limit        int
	AtTS         int64
	Linearizable bool
}

// Scan returns one key's rows. With an index other than the first, every
// partition is asked (rows are placed by the first index's key).
func (c *Client) Scan(ctx context.Context, db, table, key string, o ScanOptions) ([]Row, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	tm, err := c.tableMeta(db, table)
	if err != nil {
		return nil, err
	}
	pids := []uint32{PartitionOf(tm.Table, key)}
	if o.Index != "" && o.Index != tm.Table.Indexes[0].Name {
		pids = pids[:0]
		for p := 0; p < tm.Table.PartitionNum; p++ {
			pids = append(pids, uint32(p))
		}
	}
	var out []Row
	var tss []int64
	for _, pid := range pids {
		var resp *connect.Response[openmldbv1.ScanResponse]
		err := c.callLeader(ctx, tm, pid, func(ctx context.Context, t openmldbv1connect.TabletClient) error {
			var err error
			resp, err = t.Scan(ctx, connect.NewRequest(&openmldbv1.ScanRequest{
				Tid: tm.TID, Pid: pid, Key: key, Index: o.Index, From: o.From, To: o.To,
				Limit: uint32(o.Limit), AtTs: o.AtTS, Linearizable: o.Linearizable}))
			return err
		})
		if err != nil {
			return nil, err
		}
		for i, b := range resp.Msg.Rows {
			vals, err := codec.Decode(tm.Table.Columns, b)
			if err != nil {
				return nil, err
			}
			out = append(out, vals)
			if i < len(resp.Msg.Ts) {
				tss = append(tss, resp.Msg.Ts[i])
			} else {
				tss = append(tss, 0)
			}
		}
	}
	if len(pids) > 1 {
		// Each partition answered newest first; merge so the newest rows of
		// the key across partitions come first before applying the limit.
		idx := make([]int, len(out))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return tss[idx[a]] > tss[idx[b]] })
		merged := make([]Row, len(out))
		for i, j := range idx {
			merged[i] = out[j]
		}
		out = merged
	}
	if o.Limit > 0 && len(out) > o.Limit {
		out = out[:o.Limit]
	}
	return out, nil
}

// Get returns the newest row of key (at AtTS if set) or ErrNotFound.
func (c *Client) Get(ctx context.Context, db, table, key string, o ScanOptions) (Row, error) {
	o.Limit = 1
	rows, err := c.Scan(ctx, db, table, key, o)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no row for key %q", ErrNotFound, key)
	}
	return rows[0], nil
}

// Count returns the number of live rows of key.
func (c *Client) Count(ctx context.Context, db, table, key string, index string) (int, error) {
	rows, err := c.Scan(ctx, db, table, key, ScanOptions{Index: index})
	return len(rows), err
}

// Delete removes every row of key (in the first index, or index). Rows are
// placed by the first index's key, so a delete by another index asks every
// partition.
func (c *Client) Delete(ctx context.Context, db, table, key, index string) (int, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	tm, err := c.tableMeta(db, table)
	if err != nil {
		return 0, err
	}
	pids := []uint32{PartitionOf(tm.Table, key)}
	if index != "" && index != tm.Table.Indexes[0].Name {
		pids = pids[:0]
		for p := 0; p < tm.Table.PartitionNum; p++ {
			pids = append(pids, uint32(p))
		}
	}
	total := 0
	for _, pid := range pids {
		id := c.nextID()
		var n uint32
		err = c.callLeader(ctx, tm, pid, func(ctx context.Context, t openmldbv1connect.TabletClient) error {
			resp, err := t.Delete(ctx, connect.NewRequest(&openmldbv1.DeleteRequest{Tid: tm.TID, Pid: pid, Key: key, Index: index, Id: id}))
			if err == nil {
				n = resp.Msg.Deleted
			}
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
	}
	return total, nil
}

// Traverse calls fn with every row of the table (partition by partition,
// each row once, from the partition leaders) until fn returns false.
func (c *Client) Traverse(ctx context.Context, db, table string, fn func(Row) bool) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	tm, err := c.tableMeta(db, table)
	if err != nil {
		return err
	}
	for p := 0; p < tm.Table.PartitionNum; p++ {
		pid := uint32(p)
		after, resume := "", false
		for {
			var resp *connect.Response[openmldbv1.TraverseResponse]
			err := c.callLeader(ctx, tm, pid, func(ctx context.Context, t openmldbv1connect.TabletClient) error {
				var err error
				resp, err = t.Traverse(ctx, connect.NewRequest(&openmldbv1.TraverseRequest{Tid: tm.TID, Pid: pid, AfterKey: after, Resume: resume, Limit: 1000}))
				return err
			})
			if err != nil {
				return err
			}
			for _, b := range resp.Msg.Rows {
				vals, err := codec.Decode(tm.Table.Columns, b)
				if err != nil {
					return err
				}
				if !fn(vals) {
					return nil
				}
			}
			if resp.Msg.Done {
				break
			}
			after, resume = resp.Msg.LastKey, true
		}
	}
	return nil
}

// KeyOf returns the key of values (in column order) for the named index
// (empty: the first), as Scan and Delete expect it.
func KeyOf(t schema.Table, index string, values []any) (string, error) {
	for i, ix := range t.Indexes {
		if index == "" || ix.Name == index {
			norm := make([]any, len(t.Columns))
			for _, k := range ix.Keys {
				ci := t.ColumnIndex(k)
				v, err := schema.Normalize(schema.Column{Name: t.Columns[ci].Name, Type: t.Columns[ci].Type}, values[ci])
				if err != nil {
					return "", fmt.Errorf("%w: %w", ErrInvalidArgument, err)
				}
				norm[ci] = v
			}
			return keyOf(t, i, norm), nil
		}
	}
	return "", fmt.Errorf("%w: table %s has no index %s", ErrNotFound, t.Name, index)
}

// TableMeta returns a table's catalog record (id, partitions, placement)
// from the client's metadata cache.
func (c *Client) TableMeta(db, name string) (coord.TableMeta, error) {
	tm, err := c.tableMeta(db, name)
	if err != nil {
		return coord.TableMeta{}, err
	}
	return *tm, nil
}
