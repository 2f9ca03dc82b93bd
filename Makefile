# sidecache: every command a developer or CI needs. Nothing is installed by hand: the moto
# virtualenv (.venv, git-ignored) and the benchmark tools are set up by the targets below.

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
MOTO_VERSION := 5.2.5
MOTO_STAMP := $(VENV)/.moto-$(MOTO_VERSION)
CFN_LINT_VERSION := 1.58.0
CFN_LINT_STAMP := $(VENV)/.cfn-lint-$(CFN_LINT_VERSION)
PYTEST_VERSION := 9.2.0
POWERTOOLS_VERSION := 3.37.0
CLIENTS_STAMP := $(VENV)/.clients-pytest-$(PYTEST_VERSION)

.PHONY: all build release test lint unit e2e examples clients cfn-lint layer check-layer lambda-local run bench venv clean

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

# pytest for the Python client's suite; Powertools only if it installs (its tests then skip,
# saying why).
$(CLIENTS_STAMP): $(MOTO_STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'pytest==$(PYTEST_VERSION)'
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'aws-lambda-powertools==$(POWERTOOLS_VERSION)' \
	  || echo "clients: aws-lambda-powertools could not be installed: its tests will be skipped"
	touch $@

# middy's core, the Node client's only (dev) dependency, for its middleware test; skipped if absent.
MIDDY_STAMP := clients/node/node_modules/@middy/core/package.json
$(MIDDY_STAMP): clients/node/package-lock.json
	cd clients/node && npm ci --no-audit --no-fund --silent \
	  || echo "clients: @middy/core could not be installed: its test will be skipped"

# The client packages (clients/python, clients/node): their own suites against a live sidecar on moto.
clients: venv build $(CLIENTS_STAMP) $(MIDDY_STAMP)
	scripts/test-clients.sh

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
test: venv lint build cfn-lint clients examples check-layer
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

# The same, with the open-source aws_secretsmanager_agent measured beside sidecache (rows 9-13).
# Built once from crates.io into the git-ignored .bench-peer/ (several minutes the first time).
PEER_VERSION := 2.1.0
PEER_BIN := .bench-peer/bin/aws_secretsmanager_agent
$(PEER_BIN):
	$(CARGO) install --locked --quiet --root .bench-peer aws_secretsmanager_agent@$(PEER_VERSION)

bench-peer: venv release $(PEER_BIN)
	BENCH_PEER_BIN=$(PEER_BIN) scripts/bench.sh

clean:
	$(CARGO) clean
	rm -rf $(VENV)
