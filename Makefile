# sidecache: every command a developer or CI needs. Nothing is installed by hand: the moto
# virtualenv (.venv, git-ignored) and the benchmark tools are set up by the targets below.

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
MOTO_VERSION := 5.2.5
MOTO_STAMP := $(VENV)/.moto-$(MOTO_VERSION)
CFN_LINT_VERSION := 1.58.0
CFN_LINT_STAMP := $(VENV)/.cfn-lint-$(CFN_LINT_VERSION)

.PHONY: all build release test lint unit e2e examples cfn-lint layer check-layer lambda-local run bench fleet-sim venv clean

all: build

build:
	$(CARGO) build -p sidecache

release:
	$(CARGO) build --release -p sidecache

# moto[server]: a real HTTP implementation of the SSM, Secrets Manager, S3 and STS APIs.
venv: $(MOTO_STAMP)
$(MOTO_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'
	touch $@

$(CFN_LINT_STAMP): $(MOTO_STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'cfn-lint==$(CFN_LINT_VERSION)'
	touch $@

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The AWS SAM template must pass cfn-lint.
cfn-lint: $(CFN_LINT_STAMP)
	$(VENV)/bin/cfn-lint template.yaml

# The client examples under examples/ run against a live sidecar on moto.
examples: venv build
	scripts/test-examples.sh

# The Lambda layer zip(s) under dist/ (see layer/README.md), and their checks.
layer:
	$(MAKE) -C layer

check-layer: layer
	layer/check.sh

unit:
	$(CARGO) test -p sidecache

# The end-to-end tests drive the built binary (target/debug/sidecache) against moto.
e2e: venv build
	$(CARGO) test -p sidecache-tests

# Everything CI checks. The Rust tests run last so their summary closes the output.
test: venv lint build cfn-lint examples check-layer
	$(CARGO) test --workspace

# A demo on moto in standalone mode: seeds values, starts sidecache, runs example curl calls.
run: venv build
	scripts/demo.sh

# sidecache as a Lambda extension under the fake Extensions API, narrated (docs/local-lambda.md).
lambda-local: venv build
	$(CARGO) build -p sidecache-tests --bin lambda-local
	scripts/demo.sh lambda

# Release build, moto, wrk and callgrind: prints the performance table (docs/performance.md).
bench: venv release
	scripts/bench.sh

# A fleet of sidecache processes behind one throttled upstream (docs/performance.md, "Fleet
# simulation"). A benchmark, not a test: about 3 minutes. FLEET_ENVS / FLEET_DURATION or
# FLEET_ARGS="--envs 20 --tps 40 ..." change it.
fleet-sim: venv build
	$(VENV)/bin/python scripts/fleet_sim.py $(FLEET_ARGS)

clean:
	$(CARGO) clean
	rm -rf $(VENV)
