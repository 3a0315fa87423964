# openmldb-go. `make run` starts a local cluster, `make test` runs every test.
VERSION ?= $(shell cat VERSION)
DIST    ?= dist/openmldb
RUN_DIR ?= run

.PHONY: build release run stop test test-short lint clean

build:
	go build ./...

release:
	bash release/package.sh $(DIST) $(VERSION)

# A local cluster from the release: 1 coord, 2 nameservers, 3 tablets on
# the default ports, each a node directory under $(RUN_DIR)/. Stays running.
run: release
	go run ./cmd/localcluster up --release=$(DIST) --dir=$(RUN_DIR)

stop:
	go run ./cmd/localcluster down --dir=$(RUN_DIR)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	go vet ./...

# Every test: unit tests with the race detector, then the real-process
# cluster tests (they build release directories themselves).
test: lint
	go test -race -count=1 ./internal/...
	go test -count=1 -timeout=30m ./tests/...

test-short:
	go test -short -count=1 ./...

clean:
	rm -rf dist $(RUN_DIR)
