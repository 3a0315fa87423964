package coord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"

	"github.com/openmldb-go/openmldb/internal/config"
	"github.com/openmldb-go/openmldb/internal/server"
)

// MemberName returns --name, else the name --initial_cluster gives this
// member's peer endpoint, else coord-<endpoint>.
func MemberName(cfg *config.Config) (string, error) {
	if cfg.InitialCluster == "" {
		if cfg.Name != "" {
			return cfg.Name, nil
		}
		return "coord-" + strings.ReplaceAll(cfg.Endpoint, ":", "-"), nil
	}
	members, err := config.ParseInitialCluster(cfg.InitialCluster)
	if err != nil {
		return "", err
	}
	for _, m := range members {
		if cfg.Name != "" && m[0] == cfg.Name {
			if m[1] != cfg.PeerEndpoint {
				return "", fmt.Errorf("--initial_cluster gives member %s peer endpoint %s but --peer_endpoint is %s", m[0], m[1], cfg.PeerEndpoint)
			}
			return m[0], nil
		}
		if cfg.Name == "" && m[1] == cfg.PeerEndpoint {
			return m[0], nil
		}
	}
	if cfg.Name != "" {
		return "", fmt.Errorf("--name=%s is not a member of --initial_cluster=%s", cfg.Name, cfg.InitialCluster)
	}
	return "", fmt.Errorf("--peer_endpoint=%s is not in --initial_cluster=%s (set --name)", cfg.PeerEndpoint, cfg.InitialCluster)
}

// RunServer runs an embedded etcd member until ctx is cancelled or etcd
// fails. /status is served on the client endpoint beside etcd's own
// /health and /metrics. etcd only serves clients once the member has joined
// a quorum, so members of a multi-member cluster must be started together.
func RunServer(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	name, err := MemberName(cfg)
	if err != nil {
		return config.Usagef("%w", err)
	}
	ec := embed.NewConfig()
	ec.Name = name
	ec.Dir = cfg.DataDir
	ec.ListenClientUrls = []url.URL{{Scheme: "http", Host: cfg.Endpoint}}
	ec.AdvertiseClientUrls = ec.ListenClientUrls
	ec.ListenPeerUrls = []url.URL{{Scheme: "http", Host: cfg.PeerEndpoint}}
	ec.AdvertisePeerUrls = ec.ListenPeerUrls
	if cfg.InitialCluster == "" {
		ec.InitialCluster = name + "=http://" + cfg.PeerEndpoint
	} else {
		members, _ := config.ParseInitialCluster(cfg.InitialCluster)
		var parts []string
		for _, m := range members {
			parts = append(parts, m[0]+"=http://"+m[1])
		}
		ec.InitialCluster = strings.Join(parts, ",")
	}
	ec.InitialClusterToken = "openmldb" + cfg.ZkRootPath
	ec.ClusterState = embed.ClusterStateFlagNew
	ec.AutoCompactionMode = "periodic"
	ec.AutoCompactionRetention = "1h"
	ec.Logger = "zap"
	ec.LogLevel = "warn"
	if cfg.LogLevel == "debug" {
		ec.LogLevel = "debug"
	}
	ec.LogOutputs = []string{"stderr"}
	if cfg.LogDir != "" {
		ec.LogOutputs = []string{filepath.Join(cfg.LogDir, "coord-etcd.log")}
	}
	start := time.Now()
	// etcd serves user handlers only once the member is ready, but the
	// handler is built before StartEtcd returns: publish the server atomically.
	var running atomic.Pointer[embed.Etcd]
	ec.UserHandlers = map[string]http.Handler{
		"/status": server.StatusHandler("coord", cfg.Endpoint, start, func(st *server.Status) {
			e := running.Load()
			if e == nil {
				st.State = "starting"
				return
			}
			l := e.Server.Leader() == e.Server.MemberID()
			st.IsLeader = &l
		}),
	}
	log.Info("starting embedded etcd member", "name", name, "peer_endpoint", cfg.PeerEndpoint,
		"initial_cluster", ec.InitialCluster, "data_dir", cfg.DataDir)
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	// Every way out closes the member, the normal stop through stopMember
	// (etcd's Close must not run twice).
	stopping := false
	defer func() {
		if !stopping {
			e.Close()
		}
	}()
	select {
	case <-e.Server.ReadyNotify():
		running.Store(e)
		log.Info("etcd member ready", "took", time.Since(start).Round(time.Millisecond))
	case err := <-e.Err():
		return fmt.Errorf("etcd: %w", err)
	case <-ctx.Done():
		return nil
	}
	select {
	case err := <-e.Err():
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("etcd: %w", err)
		}
		return nil
	case <-ctx.Done():
		log.Info("stopping etcd member")
		stopping = true
		stopMember(e, log)
		return nil
	}
}

// closeWait bounds how long a stopping member waits for its client
// connections to close once its server has stopped.
const closeWait = 300 * time.Millisecond

// stopMember stops a running member quickly without losing anything.
// etcd's own Close first drains client streams for its whole request
// timeout (7 s here: watches and lease keep-alives never end by
// themselves, and every nameserver, tablet and SDK holds some), and only
// then hands leadership over and stops Raft. So stop the server first:
// it hands leadership to a peer, stops Raft and closes the WAL and the
// backend. Then close, without waiting out those streams: the process is
// about to exit, and the clients reconnect to another member.
func stopMember(e *embed.Etcd, log *slog.Logger) {
	start := time.Now()
	e.Server.Stop()
	stopped := time.Since(start)
	closed := make(chan struct{})
	go func() {
		e.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(closeWait):
	}
	log.Info("etcd member stopped", "server", stopped.Round(time.Millisecond), "took", time.Since(start).Round(time.Millisecond))
}
