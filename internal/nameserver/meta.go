package nameserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/coord"
)

var errNoTable = errors.New("table does not exist")

// tableMeta reads a table's record and its mod revision.
func (s *Server) tableMeta(ctx context.Context, db, table string) (coord.TableMeta, int64, error) {
	resp, err := s.cli.Get(ctx, s.keys.Table(db, table))
	if err != nil {
		return coord.TableMeta{}, 0, err
	}
	if len(resp.Kvs) == 0 {
		return coord.TableMeta{}, 0, fmt.Errorf("%w: table %s in database %s", errNoTable, table, db)
	}
	var tm coord.TableMeta
	if err := json.Unmarshal(resp.Kvs[0].Value, &tm); err != nil {
		return coord.TableMeta{}, 0, fmt.Errorf("table %s.%s: unreadable record: %w", db, table, err)
	}
	return tm, resp.Kvs[0].ModRevision, nil
}

// updateTableMeta applies fn to a table's record with compare-and-swap.
// fn reports whether it changed anything; an unchanged record is not written.
func (s *Server) updateTableMeta(ctx context.Context, db, table string, fn func(*coord.TableMeta) (bool, error)) error {
	for i := 0; i < 50; i++ {
		tm, rev, err := s.tableMeta(ctx, db, table)
		if err != nil {
			return err
		}
		changed, err := fn(&tm)
		if err != nil || !changed {
			return err
		}
		b, _ := json.Marshal(tm)
		key := s.keys.Table(db, table)
		txn, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).Then(clientv3.OpPut(key, string(b))).Commit()
		if err != nil {
			return err
		}
		if txn.Succeeded {
			return nil
		}
	}
	return fmt.Errorf("table %s.%s: too many concurrent updates", db, table)
}

// nextCounter increments an integer key with compare-and-swap.
func (s *Server) nextCounter(ctx context.Context, key string) (uint64, error) {
	for i := 0; i < 100; i++ {
		resp, err := s.cli.Get(ctx, key)
		if err != nil {
			return 0, err
		}
		var cur uint64
		cmp := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
		if len(resp.Kvs) > 0 {
			cur, _ = strconv.ParseUint(string(resp.Kvs[0].Value), 10, 64)
			cmp = clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)
		}
		txn, err := s.cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, strconv.FormatUint(cur+1, 10))).Commit()
		if err != nil {
			return 0, err
		}
		if txn.Succeeded {
			return cur + 1, nil
		}
	}
	return 0, errors.New("counter " + key + ": too much contention")
}

// replicaStatuses returns what the replicas of a partition report (by endpoint).
func (s *Server) replicaStatuses(ctx context.Context, tid, pid uint32) (map[string]coord.ReplicaStatus, error) {
	prefix := strings.TrimSuffix(s.keys.ReplicaStatus(tid, pid, ""), "")
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	out := map[string]coord.ReplicaStatus{}
	for _, kv := range resp.Kvs {
		var rs coord.ReplicaStatus
		if json.Unmarshal(kv.Value, &rs) == nil {
			out[strings.TrimPrefix(string(kv.Key), prefix)] = rs
		}
	}
	return out, nil
}

// observedLeader returns the endpoint reporting leadership with the highest term.
// tableMetas reads every table's metadata. An entry that does not decode
// is skipped (and logged): one bad key must not stop failover or an op
// for every other table.
func (s *Server) tableMetas(ctx context.Context) ([]coord.TableMeta, error) {
	resp, err := s.cli.Get(ctx, s.keys.TablePrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	metas := make([]coord.TableMeta, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var tm coord.TableMeta
		if err := json.Unmarshal(kv.Value, &tm); err != nil {
			s.log.Warn("skipping unreadable table metadata", "key", string(kv.Key), "err", err)
			continue
		}
		metas = append(metas, tm)
	}
	return metas, nil
}

func (s *Server) observedLeader(ctx context.Context, tid, pid uint32) (string, error) {
	st, err := s.replicaStatuses(ctx, tid, pid)
	if err != nil {
		return "", err
	}
	best, term := "", uint64(0)
	for ep, rs := range st {
		if rs.IsLeader && rs.Term >= term {
			best, term = ep, rs.Term
		}
	}
	if best == "" {
		return "", fmt.Errorf("tid %d pid %d has no leader", tid, pid)
	}
	return best, nil
}

var (
	tabletHTTP     = &http.Client{Timeout: 30 * time.Second}
	tabletClientMu sync.Mutex
	tabletClients  = map[string]openmldbv1connect.TabletClient{}
)

func tabletClient(ep string) openmldbv1connect.TabletClient {
	tabletClientMu.Lock()
	defer tabletClientMu.Unlock()
	c := tabletClients[ep]
	if c == nil {
		c = openmldbv1connect.NewTabletClient(tabletHTTP, "http://"+ep)
		tabletClients[ep] = c
	}
	return c
}

// isHealthy reports whether a tablet is registered (alive) now.
func (s *Server) isHealthy(ctx context.Context, ep string) (coord.NodeInfo, bool) {
	resp, err := s.cli.Get(ctx, s.keys.TabletAlive(ep))
	if err != nil || len(resp.Kvs) == 0 {
		return coord.NodeInfo{}, false
	}
	var ni coord.NodeInfo
	if json.Unmarshal(resp.Kvs[0].Value, &ni) != nil {
		return coord.NodeInfo{}, false
	}
	return ni, true
}

// autoFailover reads the persisted switch.
func (s *Server) autoFailover(ctx context.Context) bool {
	resp, err := s.cli.Get(ctx, s.keys.Config("auto_failover"))
	if err != nil || len(resp.Kvs) == 0 {
		return s.cfg.AutoFailover
	}
	return string(resp.Kvs[0].Value) == "true"
}
