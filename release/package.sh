#!/usr/bin/env bash
# release/package.sh OUT_DIR VERSION
# Builds bin/openmldb with VERSION and the current commit stamped in and lays
# out a release directory: bin/ conf/ sbin/ tools/. Used by `make release`
# and by the test harness, so tests run exactly what operators install.
set -euo pipefail
out=${1:?usage: release/package.sh OUT_DIR VERSION}
version=${2:?usage: release/package.sh OUT_DIR VERSION}
root=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi
rm -rf "$out"
mkdir -p "$out/bin" "$out/conf" "$out/sbin" "$out/tools"
pkg=github.com/openmldb-go/openmldb/internal/buildinfo
(cd "$root" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit" \
  -o "$out/bin/openmldb" ./cmd/openmldb)
cp "$root/release/bin/start.sh" "$out/bin/"
cp "$root"/release/conf/*.flags "$out/conf/"
cp "$root"/release/sbin/*.sh "$out/sbin/"
cp "$root"/release/tools/*.py "$out/tools/"
chmod +x "$out"/bin/* "$out"/sbin/* "$out"/tools/*
echo "$version" >"$out/VERSION"
