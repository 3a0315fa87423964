package replication

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, info.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A host whose log store no longer holds a replica it ran (here: the log
// store put back from a copy taken before that replica was made) knows the
// replica forgot its Raft state; a replica still in the store, or one never
// started here, did not.
func TestForgotReplica(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	run := func(shard uint64, started func(h *Host)) {
		h, err := NewHost(Config{Dir: dir, RaftAddress: addr})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if shard != 0 {
			if err := h.StartReplica(shard, 1, map[uint64]string{1: addr}, false, false, func() StateMachine { return newPreparingSM() }); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			waitLeader(t, ctx, h, shard)
			if _, _, err := h.Propose(ctx, shard, []byte{1}); err != nil {
				t.Fatal(err)
			}
		}
		if started != nil {
			started(h)
		}
	}
	run(21, nil)
	backup := filepath.Join(t.TempDir(), "wal")
	copyTree(t, LogStoreDir(dir), backup)
	run(22, func(h *Host) {
		if h.Forgot(21, 1) || h.Forgot(22, 1) {
			t.Fatal("a replica running from an intact log store counts as forgotten")
		}
	})
	if err := os.RemoveAll(LogStoreDir(dir)); err != nil {
		t.Fatal(err)
	}
	copyTree(t, backup, LogStoreDir(dir))
	run(0, func(h *Host) {
		if h.Forgot(21, 1) {
			t.Error("replica 21, still in the restored log store, counts as forgotten")
		}
		if !h.Forgot(22, 1) {
			t.Error("replica 22, made after the copy of the log store, does not count as forgotten")
		}
		if h.Forgot(23, 1) {
			t.Error("replica 23, never started here, counts as forgotten")
		}
	})
}
