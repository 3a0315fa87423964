package tablet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openmldb-go/openmldb/api/gen/openmldb/v1/openmldbv1connect"
	"github.com/openmldb-go/openmldb/internal/buildinfo"
	"github.com/openmldb-go/openmldb/internal/config"
	"github.com/openmldb-go/openmldb/internal/coord"
	"github.com/openmldb-go/openmldb/internal/replication"
	"github.com/openmldb-go/openmldb/internal/server"
)

// Server is one tablet process.
type Server struct {
	cfg        *config.Config
	log        *slog.Logger
	cli        *clientv3.Client
	keys       coord.Keys
	ttl        int
	start      time.Time
	sessionID  string
	registered atomic.Bool
	lease      atomic.Int64 // current registration lease, 0 while unregistered
	regGauge   prometheus.Gauge
	data       *data
}

// Run serves until ctx is cancelled, then deregisters and shuts down.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.DBRootPath, 0o755); err != nil {
		return fmt.Errorf("creating --db_root_path: %w", err)
	}
	reg := server.NewRegistry("tablet")
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
	s.regGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "openmldb_tablet_registered", Help: "1 while this tablet's registration lease is alive in etcd.",
	})
	reg.MustRegister(s.regGauge)
	hs.Mux.Handle("GET /status", server.StatusHandler("tablet", cfg.Endpoint, s.start, func(st *server.Status) {
		if !s.registered.Load() {
			st.State = "unregistered"
		}
	}))
	d := &data{s: s, parts: map[uint64]*hosted{}, leaderCh: make(chan struct{}, 1)}
	raftDir := filepath.Join(cfg.DBRootPath, "raft")
	if _, err := os.Stat(raftDir); errors.Is(err, os.ErrNotExist) {
		d.forgotAtStart = "this tablet's data directory was empty at start"
	} else if _, err := os.Stat(replication.LogStoreDir(raftDir)); errors.Is(err, os.ErrNotExist) {
		d.forgotAtStart = "this tablet's Raft log store (" + replication.LogStoreDir(raftDir) + ") was missing at start"
	}
	host, err := replication.NewHost(replication.Config{
		Dir: raftDir, RaftAddress: cfg.RaftEndpoint,
		SnapshotBytesPerSecond: cfg.StreamBandwidthLimit,
		SnapshotSyncBytes:      snapshotSyncBytes(cfg.SnapshotSyncBytes),
		OnLeader:               func(info replication.LeaderInfo) { d.noteLeader(info); d.signalStatus() },
	})
	if err != nil {
		return err
	}
	d.host = host
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "openmldb_raft_stream_redials_total",
		Help: "Raft sends that found their stream to a peer closed (the peer stopped or restarted) and dialled it again.",
	}, func() float64 { return float64(host.StreamRedials()) }))
	s.data = d
	path, h := openmldbv1connect.NewTabletHandler(d, server.HandlerOptions()...)
	hs.Mux.Handle(path, h)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve() }()

	regDone := make(chan struct{})
	regCtx, cancelReg := context.WithCancel(ctx)
	var workers sync.WaitGroup
	workers.Add(3)
	go func() {
		defer workers.Done()
		d.gcLoop(regCtx, cfg.GCInterval)
	}()
	go func() {
		defer workers.Done()
		_ = d.watchTables(regCtx)
	}()
	go func() {
		defer workers.Done()
		d.reportStatus(regCtx)
	}()
	go func() {
		defer close(regDone)
		s.registerLoop(regCtx)
	}()
	log.Info("tablet started", "db_root_path", cfg.DBRootPath, "raft_endpoint", cfg.RaftEndpoint)
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-serveErr:
		runErr = fmt.Errorf("http server: %w", runErr)
	}
	// Each step's time goes into the last log line: a stop that takes
	// seconds (bin/start.sh waits for it) should say where they went.
	stopping := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	httpDone := time.Now()
	s.data.closeDeployments()
	cancelReg()
	workers.Wait()
	workersDone := time.Now()
	host.Close()
	<-regDone
	round := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	log.Info("tablet stopped", "http", round(httpDone.Sub(stopping)), "workers", round(workersDone.Sub(httpDone)),
		"raft", round(time.Since(workersDone)))
	return runErr
}

// registerLoop keeps the registration alive, re-registering with a new
// lease whenever the old one is lost, and revokes it on shutdown so the
// nameserver sees the tablet leave at once rather than after the TTL.
func (s *Server) registerLoop(ctx context.Context) {
	first := true
	for ctx.Err() == nil {
		err := s.registerOnce(ctx, first)
		first = false
		if err != nil && ctx.Err() == nil {
			s.log.Warn("registration lost, registering again", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

func (s *Server) registerOnce(ctx context.Context, justStarted bool) error {
	sess, endSession, err := coord.NewSession(s.cli, s.ttl)
	if err != nil {
		return err
	}
	defer func() {
		s.registered.Store(false)
		s.lease.Store(0)
		s.regGauge.Set(0)
		endSession() // revokes the lease: the nameserver sees us leave at once
	}()
	info, _ := json.Marshal(coord.NodeInfo{
		Endpoint: s.cfg.Endpoint, RaftEndpoint: s.cfg.RaftEndpoint,
		Version: buildinfo.Version, Commit: buildinfo.Commit,
		StartTime: s.start, SessionID: s.sessionID, JustStarted: justStarted,
	})
	if _, err := s.cli.Put(ctx, s.keys.TabletAlive(s.cfg.Endpoint), string(info), clientv3.WithLease(sess.Lease())); err != nil {
		return fmt.Errorf("registering tablet: %w", err)
	}
	s.registered.Store(true)
	s.lease.Store(int64(sess.Lease()))
	s.regGauge.Set(1)
	if s.data != nil {
		s.data.signalStatus()
	}
	s.log.Info("registered", "lease_ttl_s", s.ttl)
	select {
	case <-ctx.Done():
		s.log.Info("deregistering")
		return nil
	case <-sess.Done():
		return fmt.Errorf("etcd session expired")
	}
}

// snapshotSyncBytes maps --snapshot_sync_bytes (0: off) onto
// replication.Config's (0: the default, < 0: off).
func snapshotSyncBytes(flag int64) int64 {
	if flag == 0 {
		return -1
	}
	return flag
}
