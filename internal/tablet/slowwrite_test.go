package tablet

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/internal/config"
)

// A write slower than --slow_write_threshold is logged with where its time
// went; a faster one, or any write with the threshold at 0, is not.
func TestSlowWriteLogSplitsTheTimeAndHonoursTheThreshold(t *testing.T) {
	var buf bytes.Buffer
	cfg := &config.Config{SlowWriteThreshold: 50 * time.Millisecond}
	d := &data{s: &Server{cfg: cfg, log: slog.New(slog.NewTextHandler(&buf, nil))}}
	h := &hosted{rep: &replica{tid: 3, pid: 1}}
	w := &putWork{rows: [][]byte{{1}, {2}}}
	now := time.Now()

	// 80 ms in all: 10 before the queue, 30 in it, 40 in Raft.
	received, queued := now.Add(-80*time.Millisecond), now.Add(-70*time.Millisecond)
	d.logSlowWrite(h, w, putResult{proposedAt: now.Add(-40 * time.Millisecond), batchRows: 5}, received, queued)
	line := buf.String()
	for _, want := range []string{`msg="slow write"`, "tid=3", "pid=1", "rows=2", "before_queue=10ms", "in_queue=30ms", "batch_rows=5"} {
		if !strings.Contains(line, want) {
			t.Errorf("slow write log %q lacks %q", line, want)
		}
	}
	if !strings.Contains(line, "raft=40") || !strings.Contains(line, "total=80") {
		t.Errorf("slow write log %q: want raft≈40ms, total≈80ms", line)
	}

	// Never proposed (refused while queued): no Raft time, and the error.
	buf.Reset()
	d.logSlowWrite(h, w, putResult{err: errors.New("not leader")}, received, queued)
	if line := buf.String(); !strings.Contains(line, "raft=-") || !strings.Contains(line, `err="not leader"`) {
		t.Errorf("refused slow write logged as %q: want raft=- and the error", line)
	}

	// Under the threshold: nothing.
	buf.Reset()
	d.logSlowWrite(h, w, putResult{proposedAt: now}, now.Add(-10*time.Millisecond), now.Add(-5*time.Millisecond))
	if buf.Len() != 0 {
		t.Errorf("a 10 ms write was logged: %q", buf.String())
	}

	// Threshold 0: off, however slow.
	cfg.SlowWriteThreshold = 0
	d.logSlowWrite(h, w, putResult{proposedAt: now}, now.Add(-time.Hour), now)
	if buf.Len() != 0 {
		t.Errorf("with --slow_write_threshold=0 a write was logged: %q", buf.String())
	}
}
