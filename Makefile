# peerbridge — build, test and benchmark targets. `make test` installs every tool it
# needs (Python ones into .venv from requirements.txt, Go ones at pinned versions).
SHELL := /bin/bash
GO ?= go
VENV := .venv
PYTHON := $(VENV)/bin/python
export PEERBRIDGE_PYTHON := $(abspath $(PYTHON))

STATICCHECK_VERSION := v0.8.2

.PHONY: all build test unit bench lint run venv clean

all: lint test

build:
	$(GO) build ./...

# venv: the pinned Python tools (moto for the AWS wire tests). Rebuilt when
# requirements.txt changes.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# test: lint, then every package's tests (the AWS wire tests start moto from .venv).
test: venv lint
	$(GO) test -count=1 ./...

# bench: each package's benchmarks beside their baselines, then the ratios against the
# targets. The runs alternate (BENCH_COUNT rounds of one run each) so that other load on
# the machine falls on all of them alike; benchratio takes each benchmark's fastest run.
BENCH_COUNT ?= 5
bench:
	set -o pipefail; for i in $$(seq $(BENCH_COUNT)); do \
		$(GO) test -run '^$$' -bench . -benchmem -count 1 ./pkg/peerdom/ ./pkg/eventpattern/ || exit 1; \
	done | $(GO) run ./internal/benchratio 'Parse/BaselineJSONDecode<=2' 'BaselineGoldmark/Parse>=10' \
		'MatchEvent/BaselineDecodeEvent<=0.05' 'Route/BaselineDecodeEvent<=1.5'
	set -o pipefail; for i in $$(seq $(BENCH_COUNT)); do \
		$(GO) test -run '^$$' -bench . -benchmem -count 1 ./pkg/ingest/ ./pkg/worker/ || exit 1; \
	done | $(GO) run ./internal/benchratio 'IngestHandler/IngestBaseline<=2' 'WorkerBatch/WorkerBaselineCodec<=2' 'WorkerBatch/WorkerBaselineParse<=2'
	set -o pipefail; for i in $$(seq $(BENCH_COUNT)); do \
		$(GO) test -run '^$$' -bench 'Serve|BaselineBareHandler' -benchtime 5000x -count 1 ./cmd/peerbridge/ || exit 1; \
	done | $(GO) run ./internal/benchratio 'ServeWebhooks/BaselineBareHandler<=2' \
		'ServeWebhooks-BaselineBareHandler:p50-ms' 'ServeWebhooks-BaselineBareHandler:p99-ms' \
		'ServeWebhooksWithActions-BaselineBareHandler:p50-ms'

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# run: the whole pipeline on this machine (no AWS, no Docker); ARGS passes serve's flags,
# e.g. make run ARGS='--events-out events.jsonl'.
run:
	$(GO) run ./cmd/peerbridge serve $(ARGS)

clean:
	rm -rf bin .aws-sam
