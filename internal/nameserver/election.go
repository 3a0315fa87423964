package nameserver

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/openmldb-go/openmldb/internal/buildinfo"
	"github.com/openmldb-go/openmldb/internal/coord"
)

// campaignLoop keeps this nameserver in the election until ctx ends. A lost
// session (etcd unreachable longer than the TTL) drops leadership at once
// and starts a new session and campaign.
func (s *Server) campaignLoop(ctx context.Context) {
	for ctx.Err() == nil {
		if err := s.campaignOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("election round ended, retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

func (s *Server) campaignOnce(ctx context.Context) error {
	// The session outlives ctx: on shutdown we still resign with it, and
	// ending it revokes the lease, which makes the handover immediate.
	sess, endSession, err := coord.NewSession(s.cli, s.ttl)
	if err != nil {
		return err
	}
	defer endSession()
	info, _ := json.Marshal(coord.NodeInfo{
		Endpoint: s.cfg.Endpoint, Version: buildinfo.Version, Commit: buildinfo.Commit,
		StartTime: s.start, SessionID: s.sessionID, JustStarted: true,
	})
	if _, err := s.cli.Put(ctx, s.keys.Nameserver(s.cfg.Endpoint), string(info), clientv3.WithLease(sess.Lease())); err != nil {
		return fmt.Errorf("registering nameserver: %w", err)
	}

	// Campaign must also stop when the session dies, or we could win an
	// election with a key that no longer exists.
	campCtx, cancelCamp := context.WithCancel(ctx)
	defer cancelCamp()
	go func() {
		select {
		case <-sess.Done():
			cancelCamp()
		case <-campCtx.Done():
		}
	}()
	el := concurrency.NewElection(sess, s.keys.LeaderPrefix())
	go s.observeLeader(campCtx, el)
	s.log.Info("campaigning for leadership")
	if err := el.Campaign(campCtx, s.cfg.Endpoint); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("campaign: %w", err)
	}
	s.log.Info("became leader")
	s.setLeading(true)
	s.leaderEP.Store(s.cfg.Endpoint)
	err = s.lead(campCtx)
	s.setLeading(false)
	if ctx.Err() != nil {
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if rerr := el.Resign(rctx); rerr != nil {
			s.log.Warn("resign failed; the lease revocation hands over instead", "err", rerr)
		} else {
			s.log.Info("resigned leadership")
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("leader duties failed, stepping down: %w", err)
	}
	return fmt.Errorf("etcd session lost, stepped down")
}

// observeLeader tracks the current leader's endpoint for standbys' errors
// and /status.
func (s *Server) observeLeader(ctx context.Context, el *concurrency.Election) {
	for resp := range el.Observe(ctx) {
		if len(resp.Kvs) > 0 {
			s.leaderEP.Store(string(resp.Kvs[0].Value))
		}
	}
}
