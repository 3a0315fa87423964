#!/usr/bin/env bash
# sbin/start-all.sh [component...]
# Starts the components of this node directory, coord first. Without
# arguments: every component that has a conf/<component>.flags. Set MON=mon
# to start them under the supervisor.
set -u
NODE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ORDER="coord nameserver tablet apiserver taskmanager"
want=${*:-$ORDER}
rc=0
for c in $ORDER; do
  case " $want " in *" $c "*) ;; *) continue ;; esac
  if [ $# -eq 0 ] && [ ! -f "$NODE_DIR/conf/$c.flags" ]; then
    continue
  fi
  bash "$NODE_DIR/bin/start.sh" start "$c" ${MON:-} || rc=1
done
exit $rc
