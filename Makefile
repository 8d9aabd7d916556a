# peerbridge — build, test and benchmark targets. `make test` installs every tool it
# needs (Python ones into .venv from requirements.txt, Go ones at pinned versions).
SHELL := /bin/bash
GO ?= go
VENV := .venv
PYTHON := $(VENV)/bin/python
export PEERBRIDGE_PYTHON := $(abspath $(PYTHON))

STATICCHECK_VERSION := v0.8.2

.PHONY: all build test unit bench lint run venv clean browser

all: test

build:
	$(GO) build ./...

# venv: the pinned Python tools (moto for the AWS wire tests). Rebuilt when
# requirements.txt changes.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-nodeps.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $@

# browser: Debian's chromium for the console's browser tests (internal/console drives it
# headless through chromedp), installed when missing, at the version tested here when apt
# still has it, else the one apt gives (Debian replaces a version with its security
# updates). When it cannot be installed, the browser tests skip and say so.
CHROMIUM_VERSION := 156.0.8078.129-1~deb12u1
browser:
	@if command -v chromium >/dev/null; then exit 0; fi; \
	sudo=; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
	export DEBIAN_FRONTEND=noninteractive; \
	{ $$sudo apt-get update -qq && { $$sudo apt-get install -y -qq chromium=$(CHROMIUM_VERSION) || $$sudo apt-get install -y -qq chromium; }; } >/dev/null \
		|| echo "browser: chromium could not be installed (apt-get install chromium); the console's browser tests will be skipped"

# test: every test once, in two phases of groups run at once. First the tools (.venv),
# lint and test-novenv (the packages whose tests need neither .venv nor the emulator: pip
# keeps one core busy, they take the other). Then test-race (serve, its observer and the
# local pipeline, under the race detector), test-wire (the other packages: the AWS wire tests
# start moto from .venv) and sam-test's two groups (internal/samapp with its emulator
# tests; serve's `invoke --local` tests). The groups run one test at a time most of the
# time, often waiting on moto, the emulator or a child process, so none keeps both cores
# busy and on two cores they overlap (sam-test's two groups: 35 s at once, 47 s one after
# the other, on a quiet machine). -O keeps each group's output together. test-novenv
# waits for browser (Debian's chromium, for the console's browser tests).
test:
	@$(MAKE) --no-print-directory -j3 -O venv lint test-novenv
	@$(MAKE) --no-print-directory -j4 -O test-race test-wire sam-test

RACE_PKGS := ./cmd/peerbridge ./internal/serve/... ./internal/observe ./internal/localpipeline
SAM_PKGS := ./internal/samapp
# NEEDS_VENV lists the packages whose test binaries link internal/mototest or internal/rie,
# or whose tests name PEERBRIDGE_PYTHON (they skip without it); OTHER_PKGS lists every
# package but $(RACE_PKGS) and $(SAM_PKGS), which have groups of their own.
NEEDS_VENV = { $(GO) list -test -f '{{if eq .Name "main"}}{{.ImportPath}} {{join .Deps " "}}{{end}}' ./... \
	| grep -E ' \S*/internal/(mototest|rie)( |$$)' | awk '{print $$1}' | sed 's/\.test$$//'; \
	grep -rl --exclude-dir=.venv --include='*_test.go' PEERBRIDGE_PYTHON . | xargs -r -n1 dirname | sort -u | xargs -r $(GO) list; }
OTHER_PKGS = $(GO) list ./... | grep -vxF -f <($(GO) list $(RACE_PKGS) $(SAM_PKGS))

.PHONY: test-race test-novenv test-wire
test-race: venv
	$(GO) test -count=1 -race $(RACE_PKGS)

test-novenv: browser
	$(GO) test -count=1 $$($(OTHER_PKGS) | grep -vxF -f <($(NEEDS_VENV)))

test-wire: venv
	$(GO) test -count=1 $$($(OTHER_PKGS) | grep -xF -f <($(NEEDS_VENV)))

# unit: the fast tests, without .venv, moto or the Lambda emulator: every package whose
# test binary does not link internal/mototest or internal/rie (those run in `make test`).
unit:
	@heavy=$$($(GO) list -test -f '{{if eq .Name "main"}}{{.ImportPath}} {{join .Deps " "}}{{end}}' ./... \
		| grep -E ' \S*/internal/(mototest|rie)( |$$)' | awk '{print $$1}' | sed 's/\.test$$//' | sort -u); \
	pkgs=$$($(GO) list ./... | grep -vxF -f <(printf '%s\n' $$heavy)); \
	echo "unit: skipping (need moto or the emulator): $$(echo $$heavy | wc -w) packages"; \
	$(GO) test -count=1 $$pkgs

# bench: each package's benchmarks beside their baselines, then the figures against the
# targets. BENCH_COUNT rounds each run every benchmark once; benchratio compares the runs
# of a round with each other and judges the median over the rounds (the machine's speed
# drifts between rounds). Every group runs; `make bench` ends with one table of every
# group's figures (.bench-table) and fails if any target was missed or not measured.
BENCH_COUNT ?= 7

# bench-group: packages $(1), benchmarks matching $(2) with extra flags $(3) (they come
# last, so they may override -count), targets $(4), in $(5) rounds (default BENCH_COUNT).
define bench-group
	set -o pipefail; for i in $$(seq $(or $(5),$(BENCH_COUNT))); do \
		$(GO) test -run '^$$' -bench '$(2)' -benchmem -count 1 $(3) $(1) || exit 1; \
	done | $(GO) run ./internal/benchratio -table .bench-table $(4) || echo '$(1) $(2)' >> .bench-missed
endef

# The targets are what a user pays for, each against a baseline measured in the same run:
# - ingest's warm invocation (JSON event in, handler, the real SDK SendMessage with its
#   HTTP round trip stubbed, JSON answer out) costs at most twice the SDK call alone: our
#   code around the one AWS call the function exists to make may cost as much CPU as
#   that call, no more. Both are timed in turns inside one benchmark, as they must see
#   the machine at the same moment. Judged on CPU time (invoke-cpu-µs/sdk-cpu-µs, the
#   process's getrusage, garbage collection included) since issue 22: wall time
#   (invoke-µs/sdk-µs, printed) counts the moments other processes hold the core, and
#   on this shared machine it put the median at 2.02 against 2 while CPU time put it at
#   1.8-1.9; the target and its baseline are unchanged. Issue 22 also cut the cause:
#   ingest's Lambda handler decodes only the event fields it reads (HTTPAPIRequest), not
#   the whole events.APIGatewayV2HTTPRequest, a third of the invocation's CPU beside the
#   call. invoke-cpu-µs/baseline-cpu-µs (printed) is against what any ingest written the
#   usual way must do: decode the whole event and make the call;
# - the worker's warm invocation (one batch of 10, invoked with a deadline as Lambda
#   does, PutEvents stubbed the same way) costs at most 2.5 times what any worker must do
#   with the batch (the runtime decoding its JSON, and PutEvents), timed alternately with
#   it (invoke-µs, baseline-µs). What the user pays is the invocation's billed duration,
#   in which PutEvents' network round trip (~10 ms) dominates; at the template's 128 MB a
#   function gets 128/1769 of a vCPU, so the baseline's ~100 µs of CPU here are ~1.4 ms
#   there, and 2.5x adds ~2.1 ms: at most a fifth of the ~11.4 ms the call the function
#   exists to make bills anyway. billed-ms (invoke-cpu-µs x 1769/128 + 10 ms) prints that
#   model, beside baseline-billed-ms; it reads this machine's load as Lambda's, so it is
#   not the one judged. Judged on CPU time (invoke-cpu-µs/baseline-cpu-µs) since issue
#   22, as IngestWarm below: the same target and baseline; wall time's ratio
#   (invoke-µs/baseline-µs, printed) measured 2.58x, and main's worker 2.61x, on this
#   machine beside 8 other agents, where it had been met on a quieter one. (Until issue 10 the target was invoke-µs/sdk-µs <= 2, PutEvents
#   alone, invoked without a deadline: CPU that a warm invocation bills only beside the
#   network wait; it measured 3.3x, and 5x with the deadline, a miss that cost the user
#   under a fifth of the billed duration. Of the handler's own parts, the envelope
#   decode, the parse and the detail's encoding are the work itself; the log lines and
#   the parse-deadline goroutine are each under 5% of the invocation's CPU, about 1% of
#   its billed duration: not worth a speed-up.)
# - serve's latency and memory: the median webhook's added latency (answer to the
#   sender beyond a bare net/http handler's, both loaded alternately inside one
#   benchmark) at most 5 ms, and its memory flat: RSS after 300k webhooks at most 1.5
#   times RSS after 10k. Its throughput against a bare handler (bare-µs/serve-µs) is
#   printed, not judged (retired in issue 22): it measured 0.28-0.43 of a bare handler's,
#   thousands of webhooks a second on this machine, orders of magnitude above any Peerdom
#   organization's rate, so no user pays for the difference; the target of 0.33 failed
#   `make bench` on a loaded machine for nothing. ServeWebhooks runs 3 rounds: its
#   figures are latencies over 5,000 webhooks each. ServeSoak runs serve as `serve`
#   does by default (actions on, its queue and pending actions in the on-disk store), one
#   round: its figure is a ratio within the run;
# - each Lambda bootstrap's cold start (the emulator's INIT REPORT) is at most 1.2 times
#   its SDK baseline's: hello world building the same AWS SDK clients, built the same way
#   (internal/coldstart/testdata/sdk): what our code adds to the cold start every function
#   linking those clients pays. Beside it, the ratio to an aws-lambda-go hello world (no
#   target: the SDK clients alone, their schemas and endpoint tables, are 1.2 to 1.7
#   times hello world, so "at most 1.2x hello world" could only be met by dropping them).
#   The cold start runs its rounds in one process (-count), so the bootstraps are built
#   once; each run starts the function, hello world and the SDK baseline in turn, so a
#   round is a run.
# Parse is held to at most 2x encoding/json reading the same bodies and to at least 4x
# cheaper than a goldmark AST of them (plain code since issue 10: about 1 us a message,
# nothing a Lambda bills; the hand-tuned parser before it was 10x).
# Every adversarial text of BenchmarkParseAdversarial (pkg/peerdom/adversarial_test.go)
# is as long as an op of BenchmarkParseCorpus100KiB, so ns/op compare per byte: a
# shape may cost at most 5x the corpus per byte (the corpus at least 0.2x the shape).
PARSE_ADVERSARIAL_SHAPES := brackets bold-brackets link-opens escaped-brackets parens author-words bold-runs \
	nesting huge-line short-lines field-lines distinct-fields markers marker-only arrows backslashes
PARSE_ADVERSARIAL_TARGETS := $(foreach s,$(PARSE_ADVERSARIAL_SHAPES),'ParseCorpus100KiB/ParseAdversarial/$(s)>=0.2')

COLDSTART_FUNCTIONS := Ingest Worker OnboardPeer RoleDefaults Enrich Reconcile
COLDSTART_TARGETS := $(foreach f,$(COLDSTART_FUNCTIONS),'ColdStart/$(f):init-ms/sdk-init-ms<=1.2') \
	$(foreach f,$(COLDSTART_FUNCTIONS),'ColdStart/$(f):init-ms/hello-init-ms' 'ColdStart/$(f):sdk-init-ms/hello-init-ms') \
	'ColdStart/Ingest:hello-init-ms' $(foreach f,$(COLDSTART_FUNCTIONS),'ColdStart/$(f):sdk-init-ms' 'ColdStart/$(f):init-ms') \
	'ColdStart/Ingest:hello-binary-MB' $(foreach f,$(COLDSTART_FUNCTIONS),'ColdStart/$(f):sdk-binary-MB' 'ColdStart/$(f):binary-MB') \
	'ColdStart/Ingest:hello-peak-RSS-MB' $(foreach f,$(COLDSTART_FUNCTIONS),'ColdStart/$(f):sdk-peak-RSS-MB' 'ColdStart/$(f):peak-RSS-MB')

bench:
	@rm -f .bench-missed .bench-table
	$(call bench-group,./pkg/peerdom/ ./pkg/eventpattern/,.,,'Parse/BaselineJSONDecode<=2' 'BaselineGoldmark/Parse>=4' $(PARSE_ADVERSARIAL_TARGETS) 'MatchEvent/BaselineDecodeEvent<=0.05' 'Route/BaselineDecodeEvent<=1.5')
	$(call bench-group,./internal/ingest/ ./internal/worker/,Warm,,'IngestWarm:invoke-cpu-µs/sdk-cpu-µs<=2' 'WorkerWarm:invoke-cpu-µs/baseline-cpu-µs<=2.5' 'WorkerWarm:invoke-µs/baseline-µs' 'IngestWarm:invoke-µs/sdk-µs' 'IngestWarm:invoke-cpu-µs/baseline-cpu-µs' 'IngestWarm:invoke-µs' 'IngestWarm:sdk-µs' 'IngestWarm:invoke-cpu-µs' 'IngestWarm:sdk-cpu-µs' 'WorkerWarm:billed-ms/baseline-billed-ms' 'WorkerWarm:invoke-µs' 'WorkerWarm:baseline-µs' 'WorkerWarm:invoke-cpu-µs' 'WorkerWarm:baseline-cpu-µs' 'WorkerWarm:billed-ms')
	$(call bench-group,./internal/serve/,ServeWebhooks,-benchtime 5000x,'ServeWebhooks:added-p50-ms<=5' 'ServeWebhooks:bare-µs/serve-µs' 'ServeWebhooks:bare-cpu-µs/cpu-µs' 'ServeWebhooks:webhooks/s' 'ServeWebhooks:p50-ms' 'ServeWebhooks:p99-ms' 'ServeWebhooksWithActions:bare-µs/serve-µs' 'ServeWebhooksWithActions:added-p50-ms',3)
	$(call bench-group,./internal/serve/,ServeSoak,-benchtime 300000x,'ServeSoak:rss-MB@300k/rss-MB@10k<=1.5' 'ServeSoak:rss-MB@300k' 'ServeSoak:heap-MB@300k',1)
	$(call bench-group,./internal/coldstart/,ColdStart,-benchtime 15x -count $(BENCH_COUNT),$(COLDSTART_TARGETS),1)
	@echo; echo "bench: every figure (median over rounds; rounds' range and count)"; \
		$(GO) run ./internal/benchratio -show .bench-table; \
		if [ -s .bench-missed ]; then echo "bench: FAILED: targets missed or not measured in groups: $$(tr '\n' ';' < .bench-missed)"; rm -f .bench-missed; exit 1; fi; \
		echo "bench: every target met"

# cost-figures: measure what a webhook costs (internal/cost/costrun counts every AWS request,
# log byte and custom metric of the corpus webhooks through the local pipeline) into
# internal/cost/figures.json, which `peerbridge cost` embeds, then regenerate docs/cost.md
# from `peerbridge cost`. `make test` fails while either is out of date.
.PHONY: cost-figures
cost-figures:
	$(GO) test -count=1 -run '^TestFigures$$' ./internal/cost/costrun/ -update
	PEERBRIDGE_UPDATE_COST_DOC=1 $(GO) test -count=1 -run '^TestCostDoc$$' ./cmd/peerbridge/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# run: the whole pipeline on this machine (no AWS, no Docker); ARGS passes serve's flags,
# e.g. make run ARGS='--events-out events.jsonl'. Built, then run (not `go run`, which
# exits 1 after a Ctrl-C even when serve stopped cleanly): make's status is serve's.
# `set -m` runs serve as its own job, in its own process group holding the terminal, so
# Ctrl-C reaches serve alone: make, which would re-raise the SIGINT and end with 130
# whatever serve did, never sees it. (`; exit $?` keeps bash from exec'ing serve in its
# own place, which would skip the job.)
run:
	$(GO) build -o bin/peerbridge ./cmd/peerbridge
	set -m; ./bin/peerbridge serve $(ARGS); exit $$?

clean:
	rm -rf bin .aws-sam

# ---------------------------------------------------------------- SAM application
# `sam build` runs build-<LogicalId> (template.yaml: Metadata: BuildMethod: makefile) with
# ARTIFACTS_DIR set; run by hand, a target writes bin/<LogicalId>/bootstrap. Deployed
# builds are linux/arm64 like the template's Architectures; LAMBDA_GOARCH=amd64 builds for
# an amd64 machine, e.g. to run the binaries under the Lambda emulator here.
LAMBDA_GOARCH ?= arm64
LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -buildvcs=false -ldflags='-s -w -buildid='
define lambda-build
	@mkdir -p $(or $(ARTIFACTS_DIR),bin/$(@:build-%=%))
	CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build $(LAMBDA_GOFLAGS) \
		-o $(or $(ARTIFACTS_DIR),bin/$(@:build-%=%))/bootstrap ./$(1)
endef

.PHONY: build-IngestFunction build-IngestUrlFunction build-WorkerFunction build-OnboardPeerFunction build-RoleDefaultsFunction build-EnrichFunction
.PHONY: build-ReconcileFunction
build-IngestFunction:
	$(call lambda-build,functions/ingest)
# Endpoint=FunctionUrl: the same ingest behind a Lambda function URL.
build-IngestUrlFunction:
	$(call lambda-build,functions/ingest)
build-WorkerFunction:
	$(call lambda-build,functions/worker)
build-OnboardPeerFunction:
	$(call lambda-build,functions/actions/onboard-peer)
build-RoleDefaultsFunction:
	$(call lambda-build,functions/actions/role-defaults)
build-EnrichFunction:
	$(call lambda-build,functions/actions/enrich)
build-ReconcileFunction:
	$(call lambda-build,functions/reconcile)

# sam-test: cfn-lint and `sam validate --lint` on template.yaml; `sam build` for deployment
# (arm64, .aws-sam/build) and for this machine's architecture (.aws-sam/build-<arch>);
# then internal/samapp's emulator tests run every built bootstrap under aws-lambda-rie on
# each file in events/. The tools come from .venv (pinned in requirements.txt) and the Go
# module proxy (internal/rie pins the emulator).
SAM := $(VENV)/bin/sam
CFN_LINT := $(VENV)/bin/cfn-lint
export SAM_CLI_TELEMETRY := 0
HOST_GOARCH = $(shell $(GO) env GOARCH)
SAM_HOST_BUILD = .aws-sam/build-$(HOST_GOARCH)

.PHONY: sam-lint sam-build sam-test
sam-lint: venv
	$(CFN_LINT) --include-checks I -- template.yaml
	$(SAM) validate --lint

sam-build: venv
	$(SAM) build --build-in-source
	LAMBDA_GOARCH=$(HOST_GOARCH) $(SAM) build --build-in-source --build-dir $(SAM_HOST_BUILD)

.PHONY: sam-test-samapp sam-test-invoke
sam-test: sam-test-samapp sam-test-invoke

# Every test of internal/samapp: those needing no build and, with the tag, the emulator's.
sam-test-samapp: sam-lint sam-build
	$(GO) vet -tags saminvoke ./internal/samapp/
	PEERBRIDGE_SAM_BUILD=$(abspath .aws-sam/build) PEERBRIDGE_SAM_HOST_BUILD=$(abspath $(SAM_HOST_BUILD)) \
		$(GO) test -count=1 -tags saminvoke ./internal/samapp/

# peerbridge invoke --local: every function with each events/ file, built by its
# Makefile target (not sam build's) and run under the emulator against serve's twins and
# sandbox.
sam-test-invoke: venv
	$(GO) vet -tags saminvoke ./cmd/peerbridge/ ./internal/serve/
	$(GO) test -count=1 -tags saminvoke -run 'Invoke|Emulated' ./cmd/peerbridge/ ./internal/serve/

# eventruler-verdicts: event-ruler's verdicts on the corpus of (pattern, event) pairs that
# pkg/eventpattern is held to (its TestEventRulerVerdicts, run by `make test` without
# Java). Needs Java 17 and Maven; event-ruler is pinned in tools/eventruler/pom.xml.
# Rerun it when internal/eventrulercorpus, template.yaml's rules or events/ change.
EVENTRULER_VERDICTS := pkg/eventpattern/testdata/eventruler-verdicts.jsonl.gz
.PHONY: eventruler-verdicts
eventruler-verdicts:
	@mkdir -p tools/eventruler/target
	$(GO) run ./tools/eventruler tools/eventruler/target/corpus.jsonl.gz
	cd tools/eventruler && mvn -q -B compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
	java -cp "tools/eventruler/target/classes:$$(cat tools/eventruler/target/classpath.txt)" \
		peerbridge.eventruler.Recorder tools/eventruler/target/corpus.jsonl.gz $(EVENTRULER_VERDICTS)
