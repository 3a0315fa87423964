#!/usr/bin/env bash
# bin/start.sh start|stop|restart <component> [mon]
#
# Starts and stops one component of this node directory. Works from any
# current directory: everything is resolved against the node directory
# (this script's parent), so relative paths in conf/*.flags mean
# "inside the node directory".
#
# Environment: START_TIMEOUT (seconds, default 15) bounds the health check;
# STOP_TIMEOUT (seconds, default 30) bounds the wait after SIGTERM.
set -u

NODE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMPONENTS="coord nameserver tablet apiserver taskmanager"
START_TIMEOUT=${START_TIMEOUT:-15}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}

usage() {
  echo "usage: bin/start.sh start|stop|restart <component> [mon]" >&2
  echo "components: $COMPONENTS" >&2
  exit 2
}

[ $# -ge 2 ] || usage
OP=$1
COMP=$2
MODE=${3:-}
case " $COMPONENTS " in *" $COMP "*) ;; *) echo "unknown component '$COMP'; components: $COMPONENTS" >&2; exit 2 ;; esac
case "$MODE" in ""|mon) ;; *) echo "unknown mode '$MODE'; the only mode is 'mon'" >&2; exit 2 ;; esac

cd "$NODE_DIR" || exit 1
BIN=./bin/openmldb
FLAGFILE=conf/$COMP.flags
PID_FILE=bin/$COMP.pid
CHILD_PID_FILE=bin/$COMP.pid.child

# flag_value NAME DEFAULT: the last --NAME=value line of the flagfile.
flag_value() {
  local v
  v=$(grep -E "^[[:space:]]*--$1=" "$FLAGFILE" 2>/dev/null | tail -n 1 | sed -E "s/^[[:space:]]*--$1=//; s/[[:space:]]+$//")
  echo "${v:-$2}"
}

# running PID: the process exists and is not a zombie (an exited process
# whose parent has not reaped it yet counts as gone).
running() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  local st
  st=$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ]
}

# alive PID: running and one of ours (not a recycled pid).
alive() {
  running "${1:-}" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q openmldb
}

read_pid() { [ -f "$1" ] && tr -d '[:space:]' <"$1"; }

# status_pid ENDPOINT: the pid the server at ENDPOINT reports in /status.
status_pid() {
  local body
  if command -v curl >/dev/null 2>&1; then
    body=$(curl -sf --max-time 2 "http://$1/status" 2>/dev/null) || return 1
  else
    local host=${1%:*} port=${1##*:}
    body=$(exec 3<>"/dev/tcp/$host/$port" 2>/dev/null && printf 'GET /status HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3 && timeout 2 cat <&3) || return 1
  fi
  echo "$body" | grep -o '"pid":[0-9]*' | head -n 1 | cut -d: -f2
}

start() {
  if [ ! -f "$FLAGFILE" ]; then
    echo "Start $COMP failed: $NODE_DIR/$FLAGFILE does not exist"
    exit 1
  fi
  local pid
  pid=$(read_pid "$PID_FILE")
  if alive "$pid"; then
    echo "$COMP already running as process $pid"
    exit 0
  fi
  rm -f "$PID_FILE" "$CHILD_PID_FILE"
  local endpoint log_dir out
  endpoint=$(flag_value endpoint "")
  log_dir=$(flag_value openmldb_log_dir ./logs)
  mkdir -p "$log_dir"
  out="$log_dir/$COMP.out"
  echo "---- $(date '+%F %T') start $COMP $MODE" >>"$out"
  # A rolling upgrade has just copied a new bin/ (and its backup) here.
  # Left to the kernel, that writeback lands up to 30 s later, and every
  # Raft-log fsync on the same file system waits behind it (150-400 ms
  # stalls of every write, measured with node directories on the data
  # disk). Write it back now, before the component serves. Every
  # component: a nameserver or apiserver often shares its disk with a
  # tablet.
  sync -f "$NODE_DIR" 2>/dev/null || sync
  if [ "$MODE" = mon ]; then
    nohup "$BIN" --role=mon --name="$COMP" --child_pid_file="$CHILD_PID_FILE" -- \
      "$BIN" --flagfile="$FLAGFILE" >>"$out" 2>&1 </dev/null &
  else
    nohup "$BIN" --flagfile="$FLAGFILE" >>"$out" 2>&1 </dev/null &
  fi
  pid=$!
  local deadline=$((SECONDS + START_TIMEOUT)) served want
  while [ $SECONDS -lt $deadline ]; do
    if ! running "$pid"; then
      break
    fi
    want=$pid
    [ "$MODE" = mon ] && want=$(read_pid "$CHILD_PID_FILE")
    if [ -n "$endpoint" ] && [ -n "$want" ]; then
      served=$(status_pid "$endpoint")
      # Only our own process counts: another server on the port is a failure.
      if [ "$served" = "$want" ]; then
        echo "$pid" >"$PID_FILE"
        echo "Start $COMP success"
        exit 0
      fi
    fi
    sleep 0.2
  done
  echo "Start $COMP failed"
  if running "$pid"; then
    echo "(no healthy answer at http://$endpoint/status within ${START_TIMEOUT}s; stopping it)"
    kill -TERM "$pid" 2>/dev/null
    sleep 1
    kill -KILL "$pid" 2>/dev/null
    local child
    child=$(read_pid "$CHILD_PID_FILE")
    alive "$child" && kill -KILL "$child" 2>/dev/null
  fi
  rm -f "$PID_FILE" "$CHILD_PID_FILE"
  echo "last lines of $NODE_DIR/${out#./}:"
  tail -n 15 "$out"
  exit 1
}

# stop_pid PID: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL.
stop_pid() {
  local pid=$1 deadline=$((SECONDS + STOP_TIMEOUT))
  kill -TERM "$pid" 2>/dev/null
  while running "$pid"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$COMP (process $pid) did not stop within ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null
      sleep 0.2
      break
    fi
    sleep 0.1
  done
}

stop() {
  local pid child stopped=0
  pid=$(read_pid "$PID_FILE")
  child=$(read_pid "$CHILD_PID_FILE")
  if alive "$pid"; then
    stop_pid "$pid"   # mon forwards SIGTERM to its child and waits for it
    stopped=1
  fi
  # A child left behind (mon killed -9, or mon gave up waiting).
  if alive "$child"; then
    stop_pid "$child"
    stopped=1
  fi
  rm -f "$PID_FILE" "$CHILD_PID_FILE"
  if [ $stopped = 1 ]; then
    echo "Stop $COMP success"
  else
    echo "no $COMP to stop"
  fi
}

case "$OP" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  *) usage ;;
esac
