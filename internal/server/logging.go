package server

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/openmldb-go/openmldb/internal/config"
)

// NewLogger builds the role's logger: a file <openmldb_log_dir>/<role>.log
// when a log dir is set (created if missing), stderr otherwise. The returned
// closer closes the file; it is safe to call more than once.
func NewLogger(cfg *config.Config) (*slog.Logger, func() error, error) {
	var w io.Writer = os.Stderr
	closer := func() error { return nil }
	if cfg.LogDir != "" {
		if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("creating --openmldb_log_dir: %w", err)
		}
		path := filepath.Join(cfg.LogDir, cfg.Role+".log")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("opening log file: %w", err)
		}
		w = f
		closed := false
		closer = func() error {
			if closed {
				return nil
			}
			closed = true
			return f.Close()
		}
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h).With("role", cfg.Role, "endpoint", cfg.Endpoint), closer, nil
}
