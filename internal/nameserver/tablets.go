package nameserver

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/internal/coord"
)

// tabletTracker is the leader's view of tablet membership, kept in memory
// and persisted under <root>/tablets/ so a new leader inherits the history
// (a tablet that died while no leader was watching still shows kOffline).
type tabletTracker struct {
	mu      sync.Mutex
	records map[string]coord.TabletRecord
}

func (t *tabletTracker) snapshot() []coord.TabletRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]coord.TabletRecord, 0, len(t.records))
	for _, r := range t.records {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}

// lead runs the leader's duties (tablet tracking, the op engine) until
// ctx ends or one of them fails.
func (s *Server) lead(ctx context.Context) error {
	s.seedConfig(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opsDone := make(chan error, 1)
	go func() { opsDone <- s.ops.run(ctx) }()
	failoverDone := make(chan struct{})
	go func() {
		defer close(failoverDone)
		s.failoverLoop(ctx)
	}()
	defer func() { <-failoverDone }()
	err := s.trackTablets(ctx)
	cancel()
	if oerr := <-opsDone; err == nil {
		err = oerr
	}
	return err
}

func (s *Server) trackTablets(ctx context.Context) error {
	recs, err := s.cli.Get(ctx, s.keys.TabletRecordPrefix(), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("loading tablet records: %w", err)
	}
	records := map[string]coord.TabletRecord{}
	for _, kv := range recs.Kvs {
		var r coord.TabletRecord
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			s.log.Warn("skipping unreadable tablet record", "key", string(kv.Key), "err", err)
			continue
		}
		records[r.Endpoint] = r
	}
	s.tablets.mu.Lock()
	s.tablets.records = records
	s.tablets.mu.Unlock()

	alive, err := s.cli.Get(ctx, s.keys.TabletAlivePrefix(), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("listing live tablets: %w", err)
	}
	seen := map[string]bool{}
	for _, kv := range alive.Kvs {
		ep := strings.TrimPrefix(string(kv.Key), s.keys.TabletAlivePrefix())
		seen[ep] = true
		s.tabletUp(ctx, ep, kv.Value)
	}
	for _, r := range s.tablets.snapshot() {
		if !seen[r.Endpoint] {
			s.tabletDown(ctx, r.Endpoint)
		}
	}
	s.updateTabletGauges()

	wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), s.keys.TabletAlivePrefix(),
		clientv3.WithPrefix(), clientv3.WithRev(alive.Header.Revision+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("watching tablets: %w", err)
		}
		for _, ev := range wr.Events {
			ep := strings.TrimPrefix(string(ev.Kv.Key), s.keys.TabletAlivePrefix())
			if ev.Type == clientv3.EventTypePut {
				s.tabletUp(ctx, ep, ev.Kv.Value)
			} else {
				s.tabletDown(ctx, ep)
			}
		}
		s.updateTabletGauges()
	}
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("tablet watch closed")
}

func (s *Server) tabletUp(ctx context.Context, ep string, raw []byte) {
	var info coord.NodeInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		s.log.Warn("unreadable tablet registration", "endpoint", ep, "err", err)
		return
	}
	s.tablets.mu.Lock()
	old, had := s.tablets.records[ep]
	rec := coord.TabletRecord{
		Endpoint: ep, State: coord.TabletHealthy, StateSince: time.Now().UTC(),
		Version: info.Version, StartTime: info.StartTime, SessionID: info.SessionID,
	}
	if had && old.State == coord.TabletHealthy && old.SessionID == info.SessionID {
		rec.StateSince = old.StateSince
	}
	changed := !had || old != rec
	s.tablets.records[ep] = rec
	s.tablets.mu.Unlock()
	if changed {
		if !had || old.State != coord.TabletHealthy || old.SessionID != info.SessionID {
			s.log.Info("tablet is healthy", "tablet", ep, "version", info.Version)
		}
		s.persistTablet(ctx, rec)
	}
}

func (s *Server) tabletDown(ctx context.Context, ep string) {
	s.tablets.mu.Lock()
	rec, had := s.tablets.records[ep]
	if !had || rec.State == coord.TabletOffline {
		s.tablets.mu.Unlock()
		return
	}
	rec.State = coord.TabletOffline
	rec.StateSince = time.Now().UTC()
	s.tablets.records[ep] = rec
	s.tablets.mu.Unlock()
	s.log.Warn("tablet is offline", "tablet", ep)
	s.persistTablet(ctx, rec)
}

func (s *Server) persistTablet(ctx context.Context, rec coord.TabletRecord) {
	b, _ := json.Marshal(rec)
	if _, err := s.cli.Put(ctx, s.keys.TabletRecord(rec.Endpoint), string(b)); err != nil && ctx.Err() == nil {
		s.log.Warn("persisting tablet record failed", "tablet", rec.Endpoint, "err", err)
	}
}

func (s *Server) updateTabletGauges() {
	counts := map[string]int{coord.TabletHealthy: 0, coord.TabletOffline: 0}
	for _, r := range s.tablets.snapshot() {
		counts[r.State]++
	}
	for state, n := range counts {
		s.metrics.tablets.WithLabelValues(state).Set(float64(n))
	}
}
