package ops

import (
	"context"
	"fmt"
	"sort"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
)

// scaleIn moves every replica off --endpoints to the other healthy tablets.
func (t *tool) scaleIn(ctx context.Context) error {
	for _, ep := range t.cfg.Endpoints {
		if err := t.knownTablet(ctx, ep); err != nil {
			return err
		}
	}
	healthy, err := t.healthyTablets(ctx)
	if err != nil {
		return err
	}
	leaving := map[string]bool{}
	for _, ep := range t.cfg.Endpoints {
		leaving[ep] = true
	}
	var remain []string
	for _, h := range healthy {
		if !leaving[h] {
			remain = append(remain, h)
		}
	}
	load := t.replicaLoad()
	type move struct {
		db, table string
		pid       uint32
		src, dst  string
	}
	var moves []move
	for _, tm := range t.tablesSorted() {
		if tm.Table.ReplicaNum > len(remain) {
			return fmt.Errorf("%s.%s needs %d replicas but only %d tablets would remain; scale-in refused", tm.Table.DB, tm.Table.Name, tm.Table.ReplicaNum, len(remain))
		}
		for _, pm := range tm.Partitions {
			for _, r := range pm.Replicas {
				if !leaving[r.Endpoint] {
					continue
				}
				cands := []string{}
				for _, h := range remain {
					if !holds(pm, h) {
						cands = append(cands, h)
					}
				}
				sort.SliceStable(cands, func(i, j int) bool { return load[cands[i]] < load[cands[j]] })
				if len(cands) == 0 {
					return fmt.Errorf("%s.%s pid %d: no remaining tablet can take the replica of %s", tm.Table.DB, tm.Table.Name, pm.PID, r.Endpoint)
				}
				load[cands[0]]++
				moves = append(moves, move{tm.Table.DB, tm.Table.Name, pm.PID, r.Endpoint, cands[0]})
			}
		}
	}
	var ids []uint64
	for _, m := range moves {
		got, err := t.submit(ctx, &openmldbv1.SubmitOpRequest{OpType: "kMigrateOP", Db: m.db, Table: m.table, Pids: []uint32{m.pid}, Src: m.src, Dst: m.dst})
		if err != nil {
			return fmt.Errorf("%s.%s pid %d: %w", m.db, m.table, m.pid, err)
		}
		t.printf("  %s.%s pid %d: %s -> %s\n", m.db, m.table, m.pid, m.src, m.dst)
		ids = append(ids, got...)
	}
	if err := t.waitOps(ctx, ids); err != nil {
		return err
	}
	t.printf("scalein done: %d replicas moved\n", len(moves))
	return nil
}

// scaleOut moves replicas from the most loaded tablets to the least loaded
// until every healthy tablet holds within one replica of the others.
func (t *tool) scaleOut(ctx context.Context) error {
	healthy, err := t.healthyTablets(ctx)
	if err != nil {
		return err
	}
	load := t.replicaLoad()
	for _, h := range healthy {
		load[h] += 0
	}
	moved := 0
	for iter := 0; iter < 1000; iter++ {
		sort.SliceStable(healthy, func(i, j int) bool { return load[healthy[i]] < load[healthy[j]] })
		lo, hi := healthy[0], healthy[len(healthy)-1]
		if load[hi]-load[lo] <= 1 {
			break
		}
		done := false
		for _, tm := range t.tablesSorted() {
			for _, pm := range tm.Partitions {
				if done || !holds(pm, hi) || holds(pm, lo) {
					continue
				}
				got, err := t.submit(ctx, &openmldbv1.SubmitOpRequest{OpType: "kMigrateOP", Db: tm.Table.DB, Table: tm.Table.Name, Pids: []uint32{pm.PID}, Src: hi, Dst: lo})
				if err != nil {
					return err
				}
				if err := t.waitOps(ctx, got); err != nil {
					return err
				}
				t.printf("  %s.%s pid %d: %s -> %s\n", tm.Table.DB, tm.Table.Name, pm.PID, hi, lo)
				load[hi]--
				load[lo]++
				moved++
				done = true
			}
		}
		if !done {
			break
		}
	}
	t.printf("scaleout done: %d replicas moved\n", moved)
	return nil
}
