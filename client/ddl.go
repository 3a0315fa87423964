package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/schema"
)

// callNameserver runs fn against the leader nameserver, retrying while
// leadership moves.
func (c *Client) callNameserver(ctx context.Context, fn func(context.Context, openmldbv1connect.NameServerClient) error) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	backoff := 20 * time.Millisecond
	for {
		resp, err := c.etcd.Get(ctx, c.keys.LeaderPrefix()+"/", clientv3.WithFirstCreate()...)
		var last error
		if err != nil {
			last = err
		} else if len(resp.Kvs) == 0 {
			last = fmt.Errorf("%w: no nameserver is running", ErrUnavailable)
		} else {
			ns := openmldbv1connect.NewNameServerClient(c.http, "http://"+string(resp.Kvs[0].Value))
			err := fn(ctx, ns)
			if err == nil {
				return nil
			}
			if ok, _ := retryable(err); !ok {
				return mapErr(err)
			}
			var ce *connect.Error
			if asConnect(err, &ce) && ce.Code() == connect.CodeNotFound {
				return mapErr(err) // "does not exist" from the leader is final
			}
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrTimeout, mapErr(last))
		case <-time.After(backoff):
		}
		if backoff < 500*time.Millisecond {
			backoff *= 2
		}
	}
}

func asConnect(err error, target **connect.Error) bool {
	ce, ok := err.(*connect.Error)
	if ok {
		*target = ce
	}
	return ok
}

// CreateDatabase creates a database.
func (c *Client) CreateDatabase(ctx context.Context, name string, ifNotExists bool) error {
	return c.callNameserver(ctx, func(ctx context.Context, ns openmldbv1connect.NameServerClient) error {
		_, err := ns.CreateDatabase(ctx, connect.NewRequest(&openmldbv1.CreateDatabaseRequest{Name: name, IfNotExists: ifNotExists}))
		return err
	})
}

// DropDatabase drops an empty database.
func (c *Client) DropDatabase(ctx context.Context, name string) error {
	return c.callNameserver(ctx, func(ctx context.Context, ns openmldbv1connect.NameServerClient) error {
		_, err := ns.DropDatabase(ctx, connect.NewRequest(&openmldbv1.DropDatabaseRequest{Name: name}))
		return err
	})
}

// Databases lists databases, sorted.
func (c *Client) Databases(ctx context.Context) ([]string, error) {
	var names []string
	err := c.callNameserver(ctx, func(ctx context.Context, ns openmldbv1connect.NameServerClient) error {
		resp, err := ns.ShowDatabase(ctx, connect.NewRequest(&openmldbv1.ShowDatabaseRequest{}))
		if err == nil {
			names = resp.Msg.Names
		}
		return err
	})
	sort.Strings(names)
	return names, err
}

// CreateTableOptions tune CreateTable.
type CreateTableOptions struct {
	IfNotExists bool
	// ReplicaNumSet says the user chose ReplicaNum; otherwise a default of 3
	// is capped at the number of healthy tablets.
	ReplicaNumSet bool
}

// CreateTable creates a table and waits until every partition has a leader.
func (c *Client) CreateTable(ctx context.Context, t schema.Table, o CreateTableOptions) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if t.PartitionNum == 0 {
		t.PartitionNum = 8
	}
	probe := t
	if probe.ReplicaNum == 0 {
		probe.ReplicaNum = 1
	}
	if err := probe.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	b, _ := json.Marshal(t)
	err := c.callNameserver(ctx, func(ctx context.Context, ns openmldbv1connect.NameServerClient) error {
		_, err := ns.CreateTable(ctx, connect.NewRequest(&openmldbv1.CreateTableRequest{TableJson: string(b), IfNotExists: o.IfNotExists, ReplicaNumSet: o.ReplicaNumSet}))
		return err
	})
	if err != nil {
		return err
	}
	return c.WaitTableReady(ctx, t.DB, t.Name)
}

// WaitTableReady waits until the client sees the table and a leader for each partition.
func (c *Client) WaitTableReady(ctx context.Context, db, name string) error {
	for {
		if tm, err := c.tableMeta(db, name); err == nil {
			ready := true
			for _, p := range tm.Partitions {
				st := c.ReplicaStatuses(tm.TID, p.PID)
				leader := false
				for _, rs := range st {
					leader = leader || rs.IsLeader
				}
				ready = ready && leader
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: table %s.%s has partitions without a leader", ErrTimeout, db, name)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DropTable drops a table and its data.
func (c *Client) DropTable(ctx context.Context, db, name string) error {
	err := c.callNameserver(ctx, func(ctx context.Context, ns openmldbv1connect.NameServerClient) error {
		_, err := ns.DropTable(ctx, connect.NewRequest(&openmldbv1.DropTableRequest{Db: db, Name: name}))
		return err
	})
	if err != nil {
		return err
	}
	// Wait until our cache forgets it, so a create right after works.
	for i := 0; i < 100; i++ {
		if _, err := c.tableMeta(db, name); err != nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// NameServer returns an RPC client for the current leader nameserver (for
// tools: ops, status). It waits, bounded by ctx, through a failover.
func (c *Client) NameServer(ctx context.Context) (openmldbv1connect.NameServerClient, error) {
	registered := 0
	for {
		resp, err := c.etcd.Get(ctx, c.keys.LeaderPrefix()+"/", clientv3.WithPrefix(),
			clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		registered = max(registered, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			ns := openmldbv1connect.NewNameServerClient(c.http, "http://"+string(kv.Value))
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := ns.ConfGet(cctx, connect.NewRequest(&openmldbv1.ConfGetRequest{}))
			cancel()
			if err == nil {
				return ns, nil
			}
		}
		select {
		case <-ctx.Done():
			if registered == 0 {
				return nil, fmt.Errorf("%w: no nameserver is registered under --zk_root_path=%s (is one running, and is that the cluster's root path?)", ErrUnavailable, c.keys.Root)
			}
			return nil, fmt.Errorf("%w: no nameserver answers as leader (%d registered under --zk_root_path=%s)", ErrUnavailable, registered, c.keys.Root)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Etcd exposes the client's etcd connection to tools in this module.
func (c *Client) Etcd() *clientv3.Client { return c.etcd }

// Refresh re-reads every table and replica status from etcd at once,
// instead of waiting for the watch (apiserver's POST /refresh).
func (c *Client) Refresh(ctx context.Context) error {
	_, err := c.load(ctx)
	return err
}

// AddIndex adds an index to a table and waits until every replica has
// built it from its rows (writes to a partition wait while its replica
// builds).
func (c *Client) AddIndex(ctx context.Context, db, table string, ix schema.Index) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	b, _ := json.Marshal(ix)
	err := c.callNameserver(ctx, func(ctx context.Context, ns openmldbv1connect.NameServerClient) error {
		_, err := ns.AddIndex(ctx, connect.NewRequest(&openmldbv1.AddIndexRequest{Db: db, Table: table, IndexJson: string(b)}))
		return err
	})
	if err != nil {
		return mapErr(err)
	}
	// Wait for the metadata, then for every replica to report the index.
	for {
		tm, err := c.tableMeta(db, table)
		if err == nil && len(tm.Table.Indexes) > 0 {
			name := ix.Name
			if name == "" {
				name = tm.Table.Indexes[len(tm.Table.Indexes)-1].Name
			}
			if c.replicasHaveIndex(ctx, tm, name) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for the replicas of %s.%s to build the index", ErrTimeout, db, table)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Client) replicasHaveIndex(ctx context.Context, tm *coord.TableMeta, name string) bool {
	found := false
	for _, ix := range tm.Table.Indexes {
		found = found || ix.Name == name
	}
	if !found {
		return false
	}
	for _, p := range tm.Partitions {
		for _, r := range p.Replicas {
			if r.Offline {
				continue
			}
			resp, err := c.tablet(r.Endpoint).GetTableStatus(ctx, connect.NewRequest(&openmldbv1.GetTableStatusRequest{Tid: tm.TID, Pid: p.PID}))
			if err != nil || len(resp.Msg.Partitions) == 0 {
				return false
			}
			has := false
			for _, n := range resp.Msg.Partitions[0].Indexes {
				has = has || n == name
			}
			if !has {
				return false
			}
		}
	}
	return true
}
