package server

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// A tick that comes more than the limit after it was due is logged, with
// how late it was; ticks on time are not.
func TestReportStallsLogsLateWakeUpsOnly(t *testing.T) {
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	ticks, stop, done := make(chan time.Time), make(chan struct{}), make(chan struct{})
	t0 := time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
	go func() { defer close(done); reportStalls(30*time.Millisecond, t0, ticks, log, stop) }()
	for _, at := range []time.Duration{5, 10, 15, 115, 120, 150} { // ms: 95 ms late at 115, 25 ms at 150
		ticks <- t0.Add(at * time.Millisecond)
	}
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `msg="process stalled"`) || !strings.Contains(lines[0], "late=95ms") || !strings.Contains(lines[0], "from=18:00:00.015") {
		t.Fatalf("logged %q; want one stall, 95 ms late, from 18:00:00.015", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
