#!/usr/bin/env bash
# bench/run.sh [--quick] [suite flags...]
#
# The benchmark suite against Redis and etcd, in one sitting, on loopback:
# installs the peers from Debian if missing, builds a release of this
# commit, runs bench/suite (which starts and stops every system), and
#   full run: writes bench/results/<date>-<commit>.md (+ charts and JSON in
#             bench/results/<date>-<commit>/) and updates docs/benchmarks.md;
#   --quick:  tiny sizes and short points (under 2 minutes; .ci/run uses it
#             so the tool never rots) into a temporary directory; it fails if
#             any system or workload fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=false
for a in "$@"; do [ "$a" = "--quick" ] && quick=true; done

if ! command -v redis-server >/dev/null; then
  echo "bench/run.sh: installing redis-server and redis-tools (Debian)"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq redis-server redis-tools >/dev/null || {
    $sudo_ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq redis-server redis-tools >/dev/null; }
fi
# the Debian package starts a system redis-server; we start our own on free ports
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || commit="$commit-dirty"
day=$(date -u +%F)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "bench/run.sh: building a release of $commit"
bash release/package.sh "$work/release" "bench-$commit" >/dev/null
(cd bench/suite && go build -o "$work/suite" .)
# Write the fresh builds and the go build cache back now: left to the
# kernel they land on the disk ~30 s later, all at once, in the middle of
# a measurement, and every Raft-log fsync on the same disk waits behind
# them.
sync

if $quick; then
  out="$work/quick"
  "$work/suite" --release="$work/release" --out="$out" --commit="$commit" "$@"
  cat "$out/report.md"
  exit 0
fi
name="$day-$commit"
out="bench/results/$name"
rm -rf "$out"
"$work/suite" --release="$work/release" --out="$out" --commit="$commit" "$@"
# the report beside its directory of charts, and a copy in docs/
sed -E "s#\]\(([a-z0-9-]+\.png)\)#](${name}/\1)#" "$out/report.md" >"bench/results/$name.md"
rm "$out/report.md"
{
  echo "# Benchmarks"
  echo
  echo "The latest full run of \`bench/run.sh\` (its report: [bench/results/$name.md](../bench/results/$name.md));"
  echo "earlier runs are kept in [bench/results/](../bench/results/). How to run it and what each"
  echo "workload does: [bench/README.md](../bench/README.md)."
  echo
  sed -E "s#\]\(${name}/#](../bench/results/${name}/#; 1d" "bench/results/$name.md"
} >docs/benchmarks.md
echo "bench/run.sh: wrote bench/results/$name.md and docs/benchmarks.md"
