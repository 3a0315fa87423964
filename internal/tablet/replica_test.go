package tablet

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/schema"
)

// waitApplied returns as soon as the index is applied, and false after
// its limit when it is not.
func TestWaitApplied(t *testing.T) {
	tb := schema.Table{DB: "db", Name: "t", PartitionNum: 1, ReplicaNum: 1,
		Columns: []schema.Column{{Name: "k", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp}},
		Indexes: []schema.Index{{Keys: []string{"k"}, TS: "ts"}}}
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := newReplica(1, 0, 1, tb, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if r.waitApplied(ctx, 5, 30*time.Millisecond) {
		t.Fatal("index 5 reported applied before any apply")
	}
	done := make(chan bool, 1)
	go func() { done <- r.waitApplied(ctx, 5, 10*time.Second) }()
	for i := uint64(1); i <= 5; i++ {
		time.Sleep(2 * time.Millisecond)
		r.Apply(i, nil) // an undecodable entry still advances the index
	}
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("waitApplied gave up although index 5 was applied")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitApplied did not return once index 5 was applied")
	}
	if !r.waitApplied(ctx, 3, time.Millisecond) {
		t.Fatal("an index already applied reported as not")
	}
}
