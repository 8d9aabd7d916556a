# peerbridge — build, test and benchmark targets. `make test` installs every tool it
# needs (Python ones into .venv from requirements.txt, Go ones at pinned versions).
SHELL := /bin/bash
GO ?= go
VENV := .venv
PYTHON := $(VENV)/bin/python
export PEERBRIDGE_PYTHON := $(abspath $(PYTHON))

STATICCHECK_VERSION := 2025.1.1

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

test: venv
	$(GO) vet ./...
	$(GO) test -count=1 ./...

# bench: each package's benchmarks beside their baselines, then the ratios against the
# targets (benchratio uses each benchmark's fastest of BENCH_COUNT runs).
BENCH_COUNT ?= 5
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./pkg/peerdom/ | \
		$(GO) run ./internal/benchratio 'Parse/BaselineJSONDecode<=2' 'BaselineGoldmark/Parse>=10'

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

run:
	@echo "make run: the local pipeline (peerbridge serve) is not built yet; see issue 6" >&2; exit 1

clean:
	rm -rf bin .aws-sam
