# openmldb-go. `make run` starts a local cluster, `make test` runs every test.
VERSION ?= $(shell cat VERSION)
DIST    ?= dist/openmldb
RUN_DIR ?= run

.PHONY: build release run stop test test-short lint clean bench bench-quick

build:
	go build ./...

release:
	bash release/package.sh $(DIST) $(VERSION)

# A local cluster from the release: 1 coord, 2 nameservers, 3 tablets on
# the default ports, each a node directory under $(RUN_DIR)/. Stays running;
# `make stop` stops it and keeps its data, `make run` again restarts it.
run: release
	go run ./cmd/localcluster up --release=$(DIST) --dir=$(RUN_DIR)

stop:
	go run ./cmd/localcluster down --dir=$(RUN_DIR)

lint:
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './run/*' -not -path './dist/*')); \
	  if [ -n "$$files" ]; then echo "gofmt: these files need formatting:"; echo "$$files"; exit 1; fi
	go vet ./...
	cd bench/suite && go vet ./...

# Every test: unit tests with the race detector, then the real-process
# cluster tests (they build release directories themselves).
test: lint
	go test -race -count=1 ./internal/... ./client/... ./schema/... ./bench/loadgen/... ./bench/fsyncprobe/...
	go test -count=1 -timeout=30m ./tests/...
	cd bench/suite && go test -count=1 ./...

# The benchmark suite against Redis and etcd (bench/README.md): a full run
# writes bench/results/<date>-<commit>.md and docs/benchmarks.md; the quick
# one (under 2 minutes, in .ci/run) only checks that every part still runs.
bench:
	bash bench/run.sh

bench-quick:
	bash bench/run.sh --quick

test-short:
	go test -short -count=1 ./...

# Stops the local cluster if it runs, then removes it and its data.
clean: stop
	rm -rf dist $(RUN_DIR)
