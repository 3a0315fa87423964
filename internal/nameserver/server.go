package nameserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	openmldbv1 "github.com/openmldb-go/openmldb/api/gen/openmldb/v1"
	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/config"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/server"
)

// ErrNotLeader is returned by a standby for every request.
var ErrNotLeader = errors.New("nameserver is not leader")

// Server is one nameserver process.
type Server struct {
	cfg       *config.Config
	log       *slog.Logger
	cli       *clientv3.Client
	keys      coord.Keys
	ttl       int
	start     time.Time
	sessionID string

	leading  atomic.Bool
	leaderEP atomic.Value // string
	tablets  tabletTracker
	ops      *opEngine
	metrics  struct {
		isLeader prometheus.Gauge
		tablets  *prometheus.GaugeVec
	}
}

// Run serves until ctx is cancelled, then resigns and shuts down.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	reg := server.NewRegistry("nameserver")
	hs, err := server.Listen(cfg.Endpoint, reg, log)
	if err != nil {
		return err
	}
	cli, err := coord.Connect(ctx, cfg.ZkCluster, cfg.ZkConnectTimeout)
	if err != nil {
		return err
	}
	defer cli.Close()
	s := &Server{
		cfg: cfg, log: log, cli: cli, keys: coord.Keys{Root: cfg.ZkRootPath},
		ttl: coord.LeaseTTLSeconds(cfg.ZkSessionTimeout), start: time.Now().UTC(), sessionID: coord.NewSessionID(),
	}
	s.leaderEP.Store("")
	s.ops = newOpEngine(s, cfg.OpConcurrency, cfg.OpCopyConcurrency)
	s.metrics.isLeader = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "openmldb_nameserver_is_leader", Help: "1 while this nameserver is the leader.",
	})
	s.metrics.tablets = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "openmldb_nameserver_tablets", Help: "Tablets known to the leader, by state.",
	}, []string{"state"})
	reg.MustRegister(s.metrics.isLeader, s.metrics.tablets)

	path, h := openmldbv1connect.NewNameServerHandler(s, server.HandlerOptions()...)
	hs.Mux.Handle(path, h)
	hs.Mux.Handle("GET /status", server.StatusHandler("nameserver", cfg.Endpoint, s.start, s.fillStatus))
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve() }()
	log.Info("nameserver started", "zk_cluster", cfg.ZkCluster, "zk_root_path", cfg.ZkRootPath, "session_ttl_s", s.ttl)

	campaignDone := make(chan struct{})
	campCtx, cancelCamp := context.WithCancel(ctx)
	go func() {
		defer close(campaignDone)
		s.campaignLoop(campCtx)
	}()
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-serveErr:
		runErr = fmt.Errorf("http server: %w", runErr)
	}
	cancelCamp()
	<-campaignDone
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	log.Info("nameserver stopped")
	return runErr
}

func (s *Server) setLeading(v bool) {
	s.leading.Store(v)
	if v {
		s.metrics.isLeader.Set(1)
	} else {
		s.metrics.isLeader.Set(0)
	}
}

func (s *Server) fillStatus(st *server.Status) {
	l := s.leading.Load()
	st.IsLeader = &l
	st.Leader = s.leaderEP.Load().(string)
}

// notLeader builds the error a standby returns.
func (s *Server) notLeader() error {
	leader := s.leaderEP.Load().(string)
	if leader == "" || leader == s.cfg.Endpoint {
		leader = "unknown"
	}
	err := connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("%w, leader is %s", ErrNotLeader, leader))
	err.Meta().Set("x-openmldb-not-leader", "1")
	return err
}

// ShowTablet lists every tablet the leader knows with its state.
func (s *Server) ShowTablet(ctx context.Context, _ *connect.Request[openmldbv1.ShowTabletRequest]) (*connect.Response[openmldbv1.ShowTabletResponse], error) {
	if !s.leading.Load() {
		return nil, s.notLeader()
	}
	resp := &openmldbv1.ShowTabletResponse{}
	for _, r := range s.tablets.snapshot() {
		resp.Tablets = append(resp.Tablets, &openmldbv1.TabletInfo{
			Endpoint: r.Endpoint, State: r.State, StateSinceMs: r.StateSince.UnixMilli(),
			Version: r.Version, StartTimeMs: r.StartTime.UnixMilli(),
		})
	}
	return connect.NewResponse(resp), nil
}

var timeNow = time.Now
