package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openmldb-go/openmldb/tests/cluster"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// startEtcd lays out and starts a 3-member etcd cluster of our own coord
// role (embedded etcd 3.7) from the release.
func startEtcd(dir, release string) (*cluster.Cluster, error) {
	c, err := cluster.Layout(filepath.Join(dir, "etcd"), release, cluster.Options{Coords: 3})
	if err != nil {
		return nil, err
	}
	if err := c.StartAll(false); err != nil {
		_ = c.StopAll()
		return nil, err
	}
	return c, nil
}

// etcdStore maps kinds onto etcd keys: kv and ttl are <ns>/<key> (ttl
// attached to a lease), series and feature are <ns>/<key>/<ts, 19 digits>
// so a prefix range sorted by key is the key's rows in time order.
type etcdStore struct {
	cli *clientv3.Client
	ttl map[string]time.Duration

	leaseMu sync.Mutex
	lease   clientv3.LeaseID
	leaseAt time.Time
}

func newEtcdStore(ctx context.Context, endpoints []string) (*etcdStore, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	return &etcdStore{cli: cli, ttl: map[string]time.Duration{}}, nil
}

func seriesKey(ns, key string, ts int64) string { return fmt.Sprintf("%s/%s/%019d", ns, key, ts) }

func (s *etcdStore) setup(_ context.Context, ns string, k kind, ttl time.Duration) error {
	if k == kindTTL {
		s.ttl[ns] = ttl
	}
	return nil
}

// leaseFor returns a lease shared by the writes of one second: a lease per
// write would double etcd's work, one for the whole run would expire nothing.
func (s *etcdStore) leaseFor(ctx context.Context, ttl time.Duration) (clientv3.LeaseID, error) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if s.lease != 0 && time.Since(s.leaseAt) < time.Second {
		return s.lease, nil
	}
	g, err := s.cli.Grant(ctx, int64(max(ttl/time.Second, 1)))
	if err != nil {
		return 0, err
	}
	s.lease, s.leaseAt = g.ID, time.Now()
	return g.ID, nil
}

func (s *etcdStore) op(ctx context.Context, ns string, k kind, r row) (clientv3.Op, error) {
	switch k {
	case kindKV:
		return clientv3.OpPut(ns+"/"+r.key, string(r.val)), nil
	case kindTTL:
		id, err := s.leaseFor(ctx, s.ttl[ns])
		if err != nil {
			return clientv3.Op{}, err
		}
		return clientv3.OpPut(ns+"/"+r.key, string(r.val), clientv3.WithLease(id)), nil
	case kindSeries:
		return clientv3.OpPut(seriesKey(ns, r.key, r.ts), string(r.val)), nil
	default:
		return clientv3.OpPut(seriesKey(ns, r.key, r.ts), encodeFeatureMember(r)), nil
	}
}

func (s *etcdStore) put(ctx context.Context, ns string, k kind, r row) error {
	op, err := s.op(ctx, ns, k, r)
	if err != nil {
		return err
	}
	_, err = s.cli.Do(ctx, op)
	return err
}

func (s *etcdStore) load(ctx context.Context, ns string, k kind, rows []row) error {
	const batch = 128 // etcd's default --max-txn-ops
	for i := 0; i < len(rows); i += batch {
		var ops []clientv3.Op
		for _, r := range rows[i:min(i+batch, len(rows))] {
			op, err := s.op(ctx, ns, k, r)
			if err != nil {
				return err
			}
			ops = append(ops, op)
		}
		if _, err := s.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return err
		}
	}
	return nil
}

func (s *etcdStore) latest(ctx context.Context, ns string, k kind, key string) error {
	if k == kindSeries || k == kindFeature {
		_, err := s.lastN(ctx, ns, key, 1)
		return err
	}
	resp, err := s.cli.Get(ctx, ns+"/"+key)
	if err == nil && len(resp.Kvs) == 0 {
		return fmt.Errorf("key %s/%s not found", ns, key)
	}
	return err
}

func (s *etcdStore) lastN(ctx context.Context, ns, key string, n int) (int, error) {
	resp, err := s.cli.Get(ctx, ns+"/"+key+"/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(int64(n)))
	if err != nil {
		return 0, err
	}
	return len(resp.Kvs), nil
}

func (s *etcdStore) feature(ctx context.Context, ns string, r row) (features, error) {
	resp, err := s.cli.Get(ctx, seriesKey(ns, r.key, r.ts-win1d), clientv3.WithRange(seriesKey(ns, r.key, r.ts+1)))
	if err != nil {
		return features{}, err
	}
	stored := make([]row, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		fr, ok := decodeFeatureMember(string(kv.Value))
		if !ok {
			return features{}, fmt.Errorf("malformed value %q", kv.Value)
		}
		stored = append(stored, fr)
	}
	return featuresOf(r, stored), nil
}

func (s *etcdStore) close() { _ = s.cli.Close() }

// recoverMember kills coord2 with SIGKILL, starts it again and returns how
// long until it answers a linearizable read through itself.
func recoverEtcdMember(ctx context.Context, c *cluster.Cluster) (time.Duration, int64, error) {
	n := c.Coords[1]
	pid, err := n.Pid()
	if err != nil {
		return 0, 0, err
	}
	rss, _ := rssBytes(pid)
	if err := n.Kill(); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := n.Start(false); err != nil {
		return 0, 0, err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{n.Endpoint}, DialTimeout: time.Second})
	if err != nil {
		return 0, 0, err
	}
	defer cli.Close()
	deadline := start.Add(5 * time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := cli.Get(cctx, "mem/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		cancel()
		if err == nil {
			return time.Since(start), rss, nil
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("etcd member %s not serving 5 min after restart: %w", n.Endpoint, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func splitEndpoints(s string) []string { return strings.Split(s, ",") }
