#!/usr/bin/env bash
# bench/compare_redis.sh: the issue-3 comparison in one sitting, on loopback.
# Starts a local cluster (1 coord, 2 nameservers, 3 tablets) on free ports
# and redis-server (Debian package) on a free port, runs the SDK load tool
# and redis-benchmark with the same client count and value size, prints
# both, and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-50}
DURATION=${DURATION:-15s}
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  echo "installing redis-server and redis-tools"; apt-get install -y -qq redis-server redis-tools >/dev/null
fi
work=$(mktemp -d)
trap 'go run ./cmd/localcluster down --dir="$work/cluster" >/dev/null 2>&1 || true; redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bash release/package.sh "$work/release" bench >/dev/null
go run ./cmd/localcluster up --release="$work/release" --dir="$work/cluster" --free_ports >/dev/null
zk=$(python3 -c "import json;print(json.load(open('$work/cluster/cluster.json'))['ZkCluster'])")
go build -o "$work/load" ./bench/load
echo "== openmldb-go (SDK, $CLIENTS clients, 100-byte values) =="
"$work/load" --zk_cluster="$zk" --clients="$CLIENTS" --duration="$DURATION" --mode=put --replicas=3
"$work/load" --zk_cluster="$zk" --clients="$CLIENTS" --duration="$DURATION" --mode=get --replicas=3
"$work/load" --zk_cluster="$zk" --clients="$CLIENTS" --duration="$DURATION" --mode=put --replicas=1
rport=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no --daemonize yes --logfile "$work/redis.log"
sleep 0.5
echo "== redis-server $(redis-server --version | awk '{print $3}') (redis-benchmark -c $CLIENTS -d 100) =="
redis-benchmark -p "$rport" -c "$CLIENTS" -d 100 -t set,get -n 300000 -r 100000 -q 2>&1 | tr '\r' '\n' | grep -E '^(SET|GET): [0-9]'
echo "redis memory: $(redis-cli -p "$rport" info memory | grep '^used_memory:' | tr -d '\r') for $(redis-cli -p "$rport" dbsize | tr -d '\r') keys"
echo "== storage bytes per row (go test -bench) =="
go test -run=XXX -bench=BenchmarkPut -benchtime=300000x ./internal/storage | grep Benchmark
