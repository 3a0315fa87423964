package nameserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/replication"
	"github.com/openmldb-go/openmldb/schema"
)

func invalid(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

// CreateDatabase creates a database record.
func (s *Server) CreateDatabase(ctx context.Context, req *connect.Request[openmldbv1.CreateDatabaseRequest]) (*connect.Response[openmldbv1.CreateDatabaseResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	name := req.Msg.Name
	if err := schema.ValidName("database", name); err != nil {
		return nil, invalid("%v", err)
	}
	b, _ := json.Marshal(coord.DatabaseMeta{Name: name, CreateTime: time.Now().UTC()})
	key := s.keys.Database(name)
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, string(b))).Commit()
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	if !resp.Succeeded && !req.Msg.IfNotExists {
		return nil, connect.NewError(connect.CodeAlreadyExists, fmt.Errorf("database %s already exists", name))
	}
	return connect.NewResponse(&openmldbv1.CreateDatabaseResponse{}), nil
}

// DropDatabase removes an empty database.
func (s *Server) DropDatabase(ctx context.Context, req *connect.Request[openmldbv1.DropDatabaseRequest]) (*connect.Response[openmldbv1.DropDatabaseResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	name := req.Msg.Name
	tables, err := s.cli.Get(ctx, s.keys.TableDBPrefix(name), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	if tables.Count > 0 {
		return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("database %s is not empty: it has %d tables; drop them first", name, tables.Count))
	}
	del, err := s.cli.Delete(ctx, s.keys.Database(name))
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	if del.Deleted == 0 {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("database %s does not exist", name))
	}
	return connect.NewResponse(&openmldbv1.DropDatabaseResponse{}), nil
}

// ShowDatabase lists databases.
func (s *Server) ShowDatabase(ctx context.Context, _ *connect.Request[openmldbv1.ShowDatabaseRequest]) (*connect.Response[openmldbv1.ShowDatabaseResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	resp, err := s.cli.Get(ctx, s.keys.DatabasePrefix(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	out := &openmldbv1.ShowDatabaseResponse{}
	for _, kv := range resp.Kvs {
		out.Names = append(out.Names, strings.TrimPrefix(string(kv.Key), s.keys.DatabasePrefix()))
	}
	return connect.NewResponse(out), nil
}

// CreateTable validates a definition, places its partitions and records it;
// the tablets start the replicas when they see the record.
func (s *Server) CreateTable(ctx context.Context, req *connect.Request[openmldbv1.CreateTableRequest]) (*connect.Response[openmldbv1.CreateTableResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	var t schema.Table
	if err := json.Unmarshal([]byte(req.Msg.TableJson), &t); err != nil {
		return nil, invalid("table definition is not valid JSON: %v", err)
	}
	if t.PartitionNum == 0 {
		t.PartitionNum = 8
	}
	healthy := s.healthyTablets(ctx)
	if t.ReplicaNum == 0 {
		t.ReplicaNum = 3
	}
	if !req.Msg.ReplicaNumSet && t.ReplicaNum > len(healthy) && len(healthy) > 0 {
		t.ReplicaNum = len(healthy)
	}
	if err := t.Validate(); err != nil {
		return nil, invalid("%v", err)
	}
	if db, err := s.cli.Get(ctx, s.keys.Database(t.DB), clientv3.WithCountOnly()); err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	} else if db.Count == 0 {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("database %s does not exist", t.DB))
	}
	if t.ReplicaNum > len(healthy) {
		return nil, connect.NewError(connect.CodeFailedPrecondition,
			fmt.Errorf("replicanum %d is more than the %d healthy tablets", t.ReplicaNum, len(healthy)))
	}
	key := s.keys.Table(t.DB, t.Name)
	if ex, err := s.cli.Get(ctx, key, clientv3.WithCountOnly()); err == nil && ex.Count > 0 {
		if req.Msg.IfNotExists {
			return connect.NewResponse(&openmldbv1.CreateTableResponse{}), nil
		}
		return nil, connect.NewError(connect.CodeAlreadyExists, fmt.Errorf("table %s already exists in database %s", t.Name, t.DB))
	}
	tid, err := s.nextTableID(ctx)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	load, err := s.replicaLoad(ctx)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	meta := coord.TableMeta{TID: tid, Table: t, CreateTime: time.Now().UTC(), Partitions: place(t, healthy, load)}
	b, _ := json.Marshal(meta)
	txn, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, string(b))).Commit()
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	if !txn.Succeeded {
		if req.Msg.IfNotExists {
			return connect.NewResponse(&openmldbv1.CreateTableResponse{}), nil
		}
		return nil, connect.NewError(connect.CodeAlreadyExists, fmt.Errorf("table %s already exists in database %s", t.Name, t.DB))
	}
	s.log.Info("table created", "db", t.DB, "table", t.Name, "tid", tid, "partitions", t.PartitionNum, "replicas", t.ReplicaNum)
	return connect.NewResponse(&openmldbv1.CreateTableResponse{Tid: tid}), nil
}

// DropTable removes a table record; tablets drop their replicas and data.
func (s *Server) DropTable(ctx context.Context, req *connect.Request[openmldbv1.DropTableRequest]) (*connect.Response[openmldbv1.DropTableResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	del, err := s.cli.Delete(ctx, s.keys.Table(req.Msg.Db, req.Msg.Name))
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	if del.Deleted == 0 {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("table %s does not exist in database %s", req.Msg.Name, req.Msg.Db))
	}
	s.log.Info("table dropped", "db", req.Msg.Db, "table", req.Msg.Name)
	return connect.NewResponse(&openmldbv1.DropTableResponse{}), nil
}

type tabletEP struct{ endpoint, raft string }

// healthyTablets lists live tablets from their registrations.
func (s *Server) healthyTablets(ctx context.Context) []tabletEP {
	resp, err := s.cli.Get(ctx, s.keys.TabletAlivePrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil
	}
	var out []tabletEP
	for _, kv := range resp.Kvs {
		var ni coord.NodeInfo
		if json.Unmarshal(kv.Value, &ni) == nil && ni.RaftEndpoint != "" {
			out = append(out, tabletEP{ni.Endpoint, ni.RaftEndpoint})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].endpoint < out[j].endpoint })
	return out
}

// replicaLoad counts replicas and preferred leaders per endpoint over all tables.
func (s *Server) replicaLoad(ctx context.Context) (map[string][2]int, error) {
	metas, err := s.tableMetas(ctx)
	if err != nil {
		return nil, err
	}
	load := map[string][2]int{}
	for _, tm := range metas {
		for _, p := range tm.Partitions {
			for i, r := range p.Replicas {
				l := load[r.Endpoint]
				l[0]++
				if i == 0 {
					l[1]++
				}
				load[r.Endpoint] = l
			}
		}
	}
	return load, nil
}

// place spreads each partition's replicas over the least-loaded tablets
// and makes the least-leading of them the preferred leader.
func place(t schema.Table, tablets []tabletEP, load map[string][2]int) []coord.PartitionMeta {
	parts := make([]coord.PartitionMeta, t.PartitionNum)
	for pid := range parts {
		cand := append([]tabletEP(nil), tablets...)
		sort.SliceStable(cand, func(i, j int) bool {
			return load[cand[i].endpoint][0] < load[cand[j].endpoint][0]
		})
		chosen := cand[:t.ReplicaNum]
		sort.SliceStable(chosen, func(i, j int) bool {
			return load[chosen[i].endpoint][1] < load[chosen[j].endpoint][1]
		})
		pm := coord.PartitionMeta{PID: uint32(pid)}
		for i, c := range chosen {
			pm.Replicas = append(pm.Replicas, coord.ReplicaMeta{Endpoint: c.endpoint, RaftEndpoint: c.raft, ReplicaID: replication.ReplicaID(c.endpoint)})
			l := load[c.endpoint]
			l[0]++
			if i == 0 {
				l[1]++
			}
			load[c.endpoint] = l
		}
		parts[pid] = pm
	}
	return parts
}

// nextTableID increments <root>/table_index with a compare-and-swap.
func (s *Server) nextTableID(ctx context.Context) (uint32, error) {
	key := s.keys.TableIndex()
	for i := 0; i < 100; i++ {
		resp, err := s.cli.Get(ctx, key)
		if err != nil {
			return 0, err
		}
		var cur uint64
		var cmp clientv3.Cmp
		if len(resp.Kvs) == 0 {
			cmp = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
		} else {
			cur, _ = strconv.ParseUint(string(resp.Kvs[0].Value), 10, 32)
			cmp = clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)
		}
		next := cur + 1
		txn, err := s.cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, strconv.FormatUint(next, 10))).Commit()
		if err != nil {
			return 0, err
		}
		if txn.Succeeded {
			return uint32(next), nil
		}
	}
	return 0, errors.New("could not allocate a table id: too much contention")
}

// AddIndex adds an index to a table's definition; every tablet holding a
// replica builds it from the rows it has (storage.Partition.AddIndex).
func (s *Server) AddIndex(ctx context.Context, req *connect.Request[openmldbv1.AddIndexRequest]) (*connect.Response[openmldbv1.AddIndexResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	var ix schema.Index
	if err := json.Unmarshal([]byte(req.Msg.IndexJson), &ix); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("index definition: %w", err))
	}
	err := s.updateTableMeta(ctx, req.Msg.Db, req.Msg.Table, func(tm *coord.TableMeta) (bool, error) {
		t := tm.Table
		t.Indexes = append(append([]schema.Index(nil), t.Indexes...), ix)
		if ix.Name == "" {
			// A name no existing index has.
			for n := len(t.Indexes) - 1; ; n++ {
				name := fmt.Sprintf("INDEX_%d", n)
				taken := false
				for _, old := range tm.Table.Indexes {
					taken = taken || old.Name == name
				}
				if !taken {
					t.Indexes[len(t.Indexes)-1].Name = name
					break
				}
			}
		}
		if err := t.Validate(); err != nil {
			return false, connect.NewError(connect.CodeInvalidArgument, err)
		}
		tm.Table = t
		return true, nil
	})
	if err != nil {
		var ce *connect.Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		if errors.Is(err, errNoTable) {
			return nil, connect.NewError(connect.CodeNotFound, err)
		}
		return nil, connect.NewError(connect.CodeUnavailable, err)
	}
	s.log.Info("index added", "db", req.Msg.Db, "table", req.Msg.Table, "index", ix.Name, "keys", ix.Keys, "ts", ix.TS)
	return connect.NewResponse(&openmldbv1.AddIndexResponse{}), nil
}
