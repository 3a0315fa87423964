package server

import (
	"connectrpc.com/connect"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openmldb-go/openmldb/internal/buildinfo"
)

// NewRegistry returns a Prometheus registry with process and Go runtime
// collectors and openmldb_build_info for the role.
func NewRegistry(role string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(collectors.NewGoCollector())
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "openmldb_build_info",
		Help: "Always 1; labels carry the version and commit of this process.",
	}, []string{"role", "version", "commit"})
	info.WithLabelValues(role, buildinfo.Version, buildinfo.Commit).Set(1)
	reg.MustRegister(info)
	return reg
}

// HTTPServer is one listener serving RPC handlers, /status and /metrics.
type HTTPServer struct {
	Mux *http.ServeMux
	ln  net.Listener
	srv *http.Server
	log *slog.Logger
	// stopWatch ends watchStalls (nil if it is not running).
	stopWatch chan struct{}
	watchOnce sync.Once
}

// Listen binds the endpoint now, so that a taken port fails start-up at
// once with a clear error instead of after initialisation.
func Listen(endpoint string, reg *prometheus.Registry, log *slog.Logger) (*HTTPServer, error) {
	ln, err := net.Listen("tcp", endpoint)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", endpoint, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	// Profiles for operators chasing a slow node; loopback-only deployments
	// are the norm, and the handlers are read-only.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // gRPC clients speak h2c
	srv := &http.Server{
		Handler:           mux,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	hs := &HTTPServer{Mux: mux, ln: ln, srv: srv, log: log}
	if v := os.Getenv("OPENMLDB_STALL_LOG"); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			log.Warn("OPENMLDB_STALL_LOG ignored: want a positive duration such as 30ms", "value", v)
		} else {
			hs.stopWatch = make(chan struct{})
			go watchStalls(d, log, hs.stopWatch)
		}
	}
	return hs, nil
}

// watchStalls is a diagnostic (OPENMLDB_STALL_LOG=30ms): a goroutine that
// wakes every 5 ms logs each wake-up later than limit. Such a stall holds
// every goroutine of the process (CPU starvation, a GC pause, the process
// stopped), so it tells a latency spike that is the process's from one
// that is a lock's, a peer's or the disk's.
func watchStalls(limit time.Duration, log *slog.Logger, stop <-chan struct{}) {
	t := time.NewTicker(stallStep)
	defer t.Stop()
	reportStalls(limit, time.Now(), t.C, log, stop)
}

const stallStep = 5 * time.Millisecond

// reportStalls logs each tick that came more than limit after it was due.
func reportStalls(limit time.Duration, start time.Time, ticks <-chan time.Time, log *slog.Logger, stop <-chan struct{}) {
	prev := start
	for {
		select {
		case <-stop:
			return
		case now := <-ticks:
			if late := now.Sub(prev) - stallStep; late > limit {
				log.Warn("process stalled", "late", late.Round(time.Millisecond), "from", prev.Format("15:04:05.000"))
			}
			prev = now
		}
	}
}

// Addr is the bound address.
func (s *HTTPServer) Addr() string { return s.ln.Addr().String() }

// Serve blocks until Shutdown; it returns nil after a clean shutdown.
func (s *HTTPServer) Serve() error {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits for in-flight requests, bounded by ctx.
func (s *HTTPServer) Shutdown(ctx context.Context) error {
	if s.stopWatch != nil {
		s.watchOnce.Do(func() { close(s.stopWatch) })
	}
	return s.srv.Shutdown(ctx)
}

// SignalContext is cancelled on SIGTERM or SIGINT.
func SignalContext(parent context.Context, log *slog.Logger) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		defer signal.Stop(ch)
		select {
		case sig := <-ch:
			log.Info("signal received, shutting down", "signal", sig.String())
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// HandlerOptions are the connect options every RPC service uses. Small
// messages are not compressed: gzip costs more CPU than it saves on loopback
// and LAN links, and most of our messages are a few hundred bytes.
func HandlerOptions() []connect.HandlerOption {
	return []connect.HandlerOption{connect.WithCompressMinBytes(64 << 10)}
}
