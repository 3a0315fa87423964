#!/usr/bin/env bash
# Regenerates api/gen from api/proto. Needs protoc (Debian: protobuf-compiler)
# and the two plugins:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.19.1
# The generated code is committed, so building never needs these tools.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:$(go env GOPATH)/bin"
rm -rf gen
mkdir -p gen
protoc -I proto \
  --go_out=gen --go_opt=paths=source_relative \
  --connect-go_out=gen --connect-go_opt=paths=source_relative \
  $(find proto -name '*.proto' | sort)
