#!/usr/bin/env bash
# sbin/stop-all.sh [component...]
# Stops the components of this node directory, coord last.
set -u
NODE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ORDER="taskmanager apiserver tablet nameserver coord"
want=${*:-$ORDER}
rc=0
for c in $ORDER; do
  case " $want " in *" $c "*) ;; *) continue ;; esac
  bash "$NODE_DIR/bin/start.sh" stop "$c" || rc=1
done
exit $rc
