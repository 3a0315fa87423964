package mon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openmldb-go/openmldb/internal/config"
)

func monConfig(t *testing.T, script string) *config.Config {
	t.Helper()
	return &config.Config{
		Role: "mon", ChildPidFile: filepath.Join(t.TempDir(), "c.pid.child"),
		MaxRestarts: 3, RestartWindow: time.Minute, Args: []string{"sh", "-c", script},
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestGivesUpAfterMaxRestarts(t *testing.T) {
	cfg := monConfig(t, "exit 1")
	start := time.Now()
	err := Run(context.Background(), cfg, quiet)
	if !errors.Is(err, ErrGaveUp) || !strings.Contains(err.Error(), "3 restarts") {
		t.Fatalf("err = %v", err)
	}
	// backoff 0.5+1+2 s between the 4 runs
	if d := time.Since(start); d < 3*time.Second {
		t.Fatalf("restarted without backoff: %s", d)
	}
	if _, err := os.Stat(cfg.ChildPidFile); err == nil {
		t.Fatal("pid file left behind")
	}
}

func TestNoRestartOnUsageError(t *testing.T) {
	err := Run(context.Background(), monConfig(t, "exit 2"), quiet)
	if !errors.Is(err, ErrGaveUp) || !strings.Contains(err.Error(), "status 2") {
		t.Fatalf("err = %v", err)
	}
}

func TestStopsChildOnCancel(t *testing.T) {
	cfg := monConfig(t, "exec sleep 60")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, quiet) }()
	var pid int
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(cfg.ChildPidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatal("no child pid written")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p, err := os.FindProcess(pid); err == nil && p.Signal(nil) == nil {
		// Reaped by Run's Wait, so Signal must fail.
		t.Fatalf("child %d still running", pid)
	}
}
