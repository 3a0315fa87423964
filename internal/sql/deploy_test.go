package sql

import (
	"context"
	"strings"
	"testing"

	"github.com/openmldb-go/openmldb/schema"
)

// laggingSource is a memSource whose table definitions are those of a
// watch still behind etcd until Refresh is called.
type laggingSource struct {
	*memSource
	fresh     map[string]schema.Table
	refreshes int
}

func (l *laggingSource) Refresh(context.Context) error {
	l.refreshes++
	l.tables = l.fresh
	return nil
}

// A deployment whose index the runner's metadata does not show yet (its
// watch is behind the record it just read) compiles after one re-read; a
// deployment that really lacks its index still fails, and re-reads are
// limited to one a second.
func TestDeploymentCompileReReadsStaleMetadataOnce(t *testing.T) {
	cols := []schema.Column{{Name: "card", Type: schema.TypeString}, {Name: "mcc", Type: schema.TypeString}, {Name: "ts", Type: schema.TypeTimestamp}}
	stale := schema.Table{DB: "feat", Name: "tx", Columns: cols, Indexes: []schema.Index{{Name: "by_card", Keys: []string{"card"}, TS: "ts"}}}
	fresh := stale
	fresh.Indexes = append([]schema.Index{}, stale.Indexes...)
	fresh.Indexes = append(fresh.Indexes, schema.Index{Name: "by_card_mcc", Keys: []string{"card", "mcc"}, TS: "ts"})
	src := &laggingSource{memSource: &memSource{tables: map[string]schema.Table{"tx": stale}}, fresh: map[string]schema.Table{"tx": fresh}}
	r := &DeploymentRunner{Src: src}
	st, err := Parse("SELECT mcc, count(*) OVER w AS n FROM tx WINDOW w AS (PARTITION BY card, mcc ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CompileFeature(src, "feat", st.(*Select)); err == nil {
		t.Fatal("the stale metadata compiled: the test does not exercise the re-read")
	}
	if _, err := r.compile(context.Background(), "feat", st.(*Select)); err != nil {
		t.Fatalf("compile after a re-read: %v", err)
	}
	if src.refreshes != 1 {
		t.Fatalf("%d re-reads, want 1", src.refreshes)
	}

	// An index nobody added: still an error, and a second failure within
	// the second does not re-read again.
	st2, err := Parse("SELECT mcc, count(*) OVER w AS n FROM tx WINDOW w AS (PARTITION BY mcc ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.compile(context.Background(), "feat", st2.(*Select)); err == nil || !strings.Contains(err.Error(), "index") {
		t.Fatalf("compile of a deployment lacking its index: %v, want the missing-index error", err)
	}
	if src.refreshes != 1 {
		t.Fatalf("%d re-reads after a failure within the second, want still 1", src.refreshes)
	}
}
