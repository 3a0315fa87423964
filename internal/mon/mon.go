package mon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/openmldb-go/openmldb/internal/config"
)

// ErrGaveUp is returned when the child keeps failing.
var ErrGaveUp = errors.New("mon gave up")

// StopTimeout bounds how long mon waits for the child after SIGTERM before SIGKILL.
const StopTimeout = 30 * time.Second

// Run supervises cfg.Args until ctx is cancelled (then stops the child) or
// it gives up.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	var restarts []time.Time
	backoff := 500 * time.Millisecond
	for {
		started := time.Now()
		cmd := exec.Command(cfg.Args[0], cfg.Args[1:]...)
		cmd.Stdout, cmd.Stderr, cmd.Stdin = os.Stdout, os.Stderr, nil
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%w: cannot start %s: %w", ErrGaveUp, cfg.Args[0], err)
		}
		if err := writePid(cfg.ChildPidFile, cmd.Process.Pid); err != nil {
			log.Warn("cannot write child pid file", "file", cfg.ChildPidFile, "err", err)
		}
		log.Info("child started", "pid", cmd.Process.Pid, "cmd", cfg.Args)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-ctx.Done():
			stopChild(cmd, done, log)
			removePid(cfg.ChildPidFile)
			return nil
		case err := <-done:
			code := exitCode(err)
			log.Warn("child exited", "pid", cmd.Process.Pid, "exit_code", code, "err", err, "ran_for", time.Since(started).Round(time.Millisecond))
			if code == 2 {
				removePid(cfg.ChildPidFile)
				return fmt.Errorf("%w: child exited with status 2 (bad flags or configuration); a restart would not fix it", ErrGaveUp)
			}
		}
		now := time.Now()
		restarts = append(restarts, now)
		for len(restarts) > 0 && now.Sub(restarts[0]) > cfg.RestartWindow {
			restarts = restarts[1:]
		}
		if len(restarts) > cfg.MaxRestarts {
			removePid(cfg.ChildPidFile)
			return fmt.Errorf("%w: %d restarts within %s", ErrGaveUp, len(restarts)-1, cfg.RestartWindow)
		}
		if time.Since(started) > cfg.RestartWindow {
			backoff = 500 * time.Millisecond // it ran fine for a while: start fresh
		}
		log.Info("restarting child", "after", backoff)
		select {
		case <-ctx.Done():
			removePid(cfg.ChildPidFile)
			return nil
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

func stopChild(cmd *exec.Cmd, done <-chan error, log *slog.Logger) {
	log.Info("stopping child", "pid", cmd.Process.Pid)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(StopTimeout):
		log.Warn("child ignored SIGTERM, killing", "pid", cmd.Process.Pid)
		_ = cmd.Process.Kill()
		<-done
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

func writePid(path string, pid int) error {
	if path == "" {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func removePid(path string) {
	if path != "" {
		_ = os.Remove(path)
	}
}
