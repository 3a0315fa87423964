package nameserver

import (
	"context"
	"sort"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/internal/coord"
)

// Raft elects new leaders by itself when a tablet dies; auto_failover is
// about the metadata and the replica count. While it is on, the leader:
//   - after --tablet_heartbeat_timeout offline, marks the tablet's replicas
//     not alive (kOfflineReplicaOP);
//   - after --replica_restore_delay offline, migrates them to other healthy
//     tablets so every partition has its replica count again;
//   - when the tablet comes back, recovers its remaining replicas
//     (kRecoverTableOP: running and caught up, or re-created).
// While it is off, nothing happens by itself: operators use the commands.

type failoverStage int

const (
	stageDown failoverStage = iota + 1
	stageOfflined
	stageRestored
)

// missingReplicaGrace: how long a tablet back from a restart has to report
// the replicas placed on it before auto_failover recovers those it does
// not (a tablet that came back with an empty data directory hosts none of
// them, and nothing else would ever replace them).
const missingReplicaGrace = 10 * time.Second

func (s *Server) failoverLoop(ctx context.Context) {
	stages := map[string]failoverStage{}
	checked := map[string]time.Time{} // tablet -> the healthy period already checked
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !s.autoFailover(ctx) {
			stages = map[string]failoverStage{}
			continue
		}
		for _, rec := range s.tablets.snapshot() {
			ep := rec.Endpoint
			if rec.State == coord.TabletHealthy {
				if st, ok := stages[ep]; ok && st >= stageOfflined {
					s.log.Info("auto_failover: tablet is back, recovering its replicas", "tablet", ep)
					s.submitEndpoint(ctx, "recover", ep)
					checked[ep] = rec.StateSince
				}
				delete(stages, ep)
				if !checked[ep].Equal(rec.StateSince) && time.Since(rec.StateSince) >= missingReplicaGrace {
					checked[ep] = rec.StateSince
					s.recoverUnreported(ctx, ep)
				}
				continue
			}
			down := time.Since(rec.StateSince)
			st := stages[ep]
			if st == 0 {
				st = stageDown
			}
			if st < stageOfflined && down >= s.cfg.TabletHeartbeatTimeout {
				s.log.Warn("auto_failover: tablet offline past the heartbeat timeout, marking its replicas not alive", "tablet", ep, "down", down.Round(time.Second))
				s.submitEndpoint(ctx, "offline", ep)
				st = stageOfflined
			}
			if st < stageRestored && down >= s.cfg.ReplicaRestoreDelay {
				s.log.Warn("auto_failover: restoring replica counts elsewhere", "tablet", ep)
				s.restoreReplicas(ctx, ep)
				st = stageRestored
			}
			stages[ep] = st
		}
	}
}

// recoverUnreported submits kRecoverTableOP for each replica placed on the
// healthy tablet ep that reports no status: the op re-creates it if the
// tablet does not host it, or only confirms it if it does.
func (s *Server) recoverUnreported(ctx context.Context, ep string) {
	metas, err := s.tableMetas(ctx)
	if err != nil {
		return
	}
	// One read of every status key, not one per replica: this runs for
	// every tablet when a nameserver takes over.
	statuses, err := s.cli.Get(ctx, s.keys.ReplicaStatusPrefix(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return
	}
	reports := map[string]bool{}
	for _, kv := range statuses.Kvs {
		reports[string(kv.Key)] = true
	}
	var ops []*Op
	for _, tm := range metas {
		for _, p := range tm.Partitions {
			if _, ok := replicaOn(p, ep); !ok {
				continue
			}
			if reports[s.keys.ReplicaStatus(tm.TID, p.PID, ep)] {
				continue
			}
			// The replacement is a membership change the others must be a
			// majority to commit; without one the op could never finish and
			// would hold every later op of the partition (recoverdata says why).
			voters, live := 0, 0
			for _, r := range p.Replicas {
				if r.NonVoting {
					continue
				}
				voters++
				if r.Endpoint == ep {
					continue
				}
				if reports[s.keys.ReplicaStatus(tm.TID, p.PID, r.Endpoint)] {
					live++
				}
			}
			if live < voters/2+1 {
				s.log.Error("auto_failover: a replica on a healthy tablet reports no status, and the others are no majority to replace it with", "tablet", ep, "table", tm.Table.Name, "tid", tm.TID, "pid", p.PID, "live_voters", live, "voters", voters)
				continue
			}
			op := Op{DB: tm.Table.DB, Table: tm.Table.Name, TID: tm.TID, PID: p.PID, Type: OpRecoverTable, Endpoint: ep, Tasks: tasksFor(OpRecoverTable)}
			ops = append(ops, &op)
		}
	}
	if len(ops) == 0 {
		return
	}
	s.log.Warn("auto_failover: replicas placed on a healthy tablet report no status; recovering them", "tablet", ep, "replicas", len(ops))
	if _, err := s.ops.submit(ctx, ops); err != nil {
		s.log.Warn("auto_failover: submitting ops", "action", "recover", "tablet", ep, "err", err)
	}
}

func (s *Server) submitEndpoint(ctx context.Context, action, ep string) {
	ops, err := s.endpointOps(ctx, action, ep, false)
	if err != nil {
		s.log.Warn("auto_failover: building ops", "action", action, "tablet", ep, "err", err)
		return
	}
	if _, err := s.ops.submit(ctx, ops); err != nil {
		s.log.Warn("auto_failover: submitting ops", "action", action, "tablet", ep, "err", err)
	}
}

// restoreReplicas migrates every replica on a dead tablet to the least
// loaded healthy tablet that does not hold that partition yet.
func (s *Server) restoreReplicas(ctx context.Context, dead string) {
	metas, err := s.tableMetas(ctx)
	if err != nil {
		return
	}
	healthy := s.healthyTablets(ctx)
	load, _ := s.replicaLoad(ctx)
	var ops []*Op
	for _, tm := range metas {
		for _, p := range tm.Partitions {
			if _, ok := replicaOn(p, dead); !ok {
				continue
			}
			cand := append([]tabletEP(nil), healthy...)
			sort.SliceStable(cand, func(i, j int) bool { return load[cand[i].endpoint][0] < load[cand[j].endpoint][0] })
			for _, c := range cand {
				if _, has := replicaOn(p, c.endpoint); has {
					continue
				}
				ops = append(ops, &Op{Type: OpMigrate, DB: tm.Table.DB, Table: tm.Table.Name, TID: tm.TID, PID: p.PID,
					Src: dead, Dst: c.endpoint, Tasks: tasksFor(OpMigrate)})
				l := load[c.endpoint]
				l[0]++
				load[c.endpoint] = l
				break
			}
		}
	}
	if len(ops) > 0 {
		if _, err := s.ops.submit(ctx, ops); err != nil {
			s.log.Warn("auto_failover: submitting migrations", "err", err)
		}
	}
}
