package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is one redis-server process we started.
type redisServer struct {
	cmd  *exec.Cmd
	port int
	args []string
	dir  string
}

// startRedis starts redis-server on a free loopback port. fsync turns on
// the append-only file with an fsync on every write (appendfsync always);
// otherwise the server runs with Redis's built-in defaults (RDB snapshots
// on its save schedule, no AOF). replicaOf makes it a replica.
func startRedis(ctx context.Context, dir string, fsync bool, replicaOf int) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"), "--protected-mode", "no"}
	if fsync {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	}
	if replicaOf != 0 {
		args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(replicaOf))
	}
	rs := &redisServer{port: port, args: args, dir: dir}
	return rs, rs.start(ctx)
}

func (rs *redisServer) start(ctx context.Context) error {
	rs.cmd = exec.Command("redis-server", rs.args...)
	// dies with the suite, even when the suite is killed
	rs.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := rs.cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w (install the Debian package redis-server)", err)
	}
	go func() { _ = rs.cmd.Wait() }()
	c := redis.NewClient(&redis.Options{Addr: rs.addr()})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		// PING answers LOADING while the dataset is read back
		if err := c.Ping(ctx).Err(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s not ready: %w", rs.addr(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (rs *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(rs.port) }
func (rs *redisServer) pid() int     { return rs.cmd.Process.Pid }

func (rs *redisServer) stop() {
	_ = rs.cmd.Process.Kill()
	time.Sleep(50 * time.Millisecond)
}

// redisStore maps kinds onto Redis structures: kv and ttl are strings
// (SET, SET PX), series and feature are sorted sets scored by ts.
type redisStore struct {
	rdb *redis.Client
	// wait makes every write wait for the replica's acknowledgement
	// (WAIT 1 0), Redis's nearest thing to a replicated commit.
	wait bool
	ttl  map[string]time.Duration
}

func newRedisStore(addr string, wait bool) *redisStore {
	return &redisStore{rdb: redis.NewClient(&redis.Options{Addr: addr, PoolSize: 300, MinIdleConns: 16}), wait: wait, ttl: map[string]time.Duration{}}
}

func (s *redisStore) setup(_ context.Context, ns string, k kind, ttl time.Duration) error {
	if k == kindTTL {
		s.ttl[ns] = ttl
	}
	return nil
}

func (s *redisStore) write(ctx context.Context, p redis.Pipeliner, ns string, k kind, r row) {
	key := ns + ":" + r.key
	switch k {
	case kindKV:
		p.Set(ctx, key, r.val, 0)
	case kindTTL:
		p.Set(ctx, key, r.val, s.ttl[ns])
	case kindSeries:
		p.ZAdd(ctx, key, redis.Z{Score: float64(r.ts), Member: strconv.FormatInt(r.ts, 10) + "|" + string(r.val)})
	case kindFeature:
		p.ZAdd(ctx, key, redis.Z{Score: float64(r.ts), Member: encodeFeatureMember(r)})
	}
}

func (s *redisStore) put(ctx context.Context, ns string, k kind, r row) error {
	return s.load(ctx, ns, k, []row{r})
}

// load writes rows in pipelines of up to 1000; with wait, each pipeline
// ends with WAIT 1 0 and fails unless the replica acknowledged it.
func (s *redisStore) load(ctx context.Context, ns string, k kind, rows []row) error {
	const batch = 1000
	for i := 0; i < len(rows); i += batch {
		cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, r := range rows[i:min(i+batch, len(rows))] {
				s.write(ctx, p, ns, k, r)
			}
			if s.wait {
				p.Do(ctx, "WAIT", 1, 0)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if s.wait {
			if n, _ := cmds[len(cmds)-1].(*redis.Cmd).Int(); n < 1 {
				return fmt.Errorf("WAIT: no replica acknowledged the write")
			}
		}
	}
	return nil
}

func (s *redisStore) latest(ctx context.Context, ns string, k kind, key string) error {
	if k == kindSeries || k == kindFeature {
		return s.rdb.ZRevRangeWithScores(ctx, ns+":"+key, 0, 0).Err()
	}
	return s.rdb.Get(ctx, ns+":"+key).Err()
}

func (s *redisStore) lastN(ctx context.Context, ns, key string, n int) (int, error) {
	v, err := s.rdb.ZRevRange(ctx, ns+":"+key, 0, int64(n-1)).Result()
	return len(v), err
}

func (s *redisStore) feature(ctx context.Context, ns string, r row) (features, error) {
	members, err := s.rdb.ZRangeByScore(ctx, ns+":"+r.key, &redis.ZRangeBy{
		Min: strconv.FormatInt(r.ts-win1d, 10), Max: strconv.FormatInt(r.ts, 10)}).Result()
	if err != nil {
		return features{}, err
	}
	stored := make([]row, 0, len(members))
	for _, m := range members {
		fr, ok := decodeFeatureMember(m)
		if !ok {
			return features{}, fmt.Errorf("malformed member %q", m)
		}
		stored = append(stored, fr)
	}
	return featuresOf(r, stored), nil
}

func (s *redisStore) close() { _ = s.rdb.Close() }

// redisInfoField is one field of an INFO section of the server at addr.
func redisInfoField(ctx context.Context, addr, section, field string) string {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, _ := c.Info(ctx, section).Result()
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

func redisVersion() string {
	out, err := exec.Command("redis-server", "--version").Output()
	if err != nil {
		return "not installed"
	}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return strings.TrimSpace(string(out))
}
