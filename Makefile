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

# Layer architectures built, checked and tested. LAYER_ARCHS=x86_64 skips arm64 everywhere
# (layer, check-layer, test-arm64) on a machine that cannot install its toolchain.
LAYER_ARCHS ?= x86_64 arm64
export LAYER_ARCHS
# The arm64 layer's binary, and how it runs on this x86_64 machine (binfmt_misc is not mounted).
ARM64_BIN := target/aarch64-unknown-linux-gnu/release/sidecache
ARM64_RUNNER := qemu-aarch64-static
# The e2e tests run against it under qemu: lifecycle, parameters, secrets, S3, errors and TLS.
ARM64_E2E_FILTERS := e2e::lifecycle:: e2e::parameters:: e2e::secrets:: e2e::s3:: e2e::errors:: e2e::tls::

.PHONY: all build release test test-installs lint unit e2e faketime test-arm64 examples clients node-majors sdk sdk-python sdk-node cfn-lint cdk-synth layer check-layer lambda-local run bench bench-peer soak fleet-sim venv clean fuzz fuzz-build fuzz-long cargo-fuzz

all: build

# The whole workspace's binaries (sidecache and the test crate's programs), with the features of
# the whole workspace: `cargo test --workspace` then reuses every dependency it built. Built
# alone (`-p sidecache`) the dependencies get other features (the test crate asks more of tokio,
# hyper, futures) and CI would compile the AWS SDK twice. The release and layer builds stay
# `-p sidecache`: what ships carries only what sidecache uses.
build:
	$(CARGO) build --workspace --bins

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

# The Node client's dev dependencies (middy's core, Powertools for TypeScript's parameters), for
# the middleware and AppConfig-agent tests; those tests are skipped if the install fails.
MIDDY_STAMP := clients/node/node_modules/@middy/core/package.json
$(MIDDY_STAMP): clients/node/package-lock.json
	cd clients/node && npm ci --no-audit --no-fund --silent \
	  || echo "clients: the Node dev dependencies could not be installed: their tests will be skipped"

# The client packages (clients/python, clients/node): their own suites against a live sidecar on moto.
clients: venv build $(CLIENTS_STAMP) $(MIDDY_STAMP)
	$(CARGO) build -p sidecache-tests --bin fake-appconfig
	scripts/test-clients.sh

# The Node.js client's transport and connection tests on Lambda's other Node.js majors (the
# builds come from the npm registry into target/node-majors/; scripts/test-node-majors.sh).
node-majors:
	scripts/test-node-majors.sh

# Stock AWS SDKs as sidecache's clients (docs/sdk.md), configured only through
# AWS_ENDPOINT_URL_SSM / _SECRETS_MANAGER: boto3 and the AWS CLI (tests/sdk/python, in their own
# .venv-sdk) and the AWS SDK for JavaScript v3 (tests/sdk/node, npm ci), against the built binary
# on moto. The AWS SDK for Rust is driven by the e2e tests (e2e::sdk_rust).
sdk: sdk-python sdk-node

sdk-python: venv build
	scripts/test-sdk-python.sh

sdk-node: venv build faketime
	scripts/test-sdk-node.sh

# The client examples under examples/ run against a live sidecar on moto.
examples: venv build
	scripts/test-examples.sh

# The Lambda layer zip(s) under dist/ (see layer/README.md), and their checks.
layer:
	$(MAKE) -C layer

check-layer: venv layer
	layer/check.sh

unit:
	$(CARGO) test -p sidecache

# Debian's libfaketime: the SnapStart e2e tests move the binary's wall clock with it (its
# monotonic clock untouched), as a restore does. Installed with apt when missing.
faketime:
	@ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || { \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "faketime: installing libfaketime with apt"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq libfaketime >/dev/null; }

# The end-to-end tests drive the built binary (target/debug/sidecache) against moto.
e2e: venv build faketime
	$(CARGO) test -p sidecache-tests

# A subset of the e2e tests against the arm64 layer binary under qemu (ring/rustls on aarch64
# included, through the TLS tests); builds the binary first (layer/Makefile).
test-arm64: venv
ifneq ($(filter arm64,$(LAYER_ARCHS)),)
	$(MAKE) -C layer arm64
	SIDECACHE_BIN=$(CURDIR)/$(ARM64_BIN) SIDECACHE_TEST_RUNNER=$(ARM64_RUNNER) \
	  $(CARGO) test --workspace --test e2e -- $(ARM64_E2E_FILTERS)
else
	@echo "test-arm64: skipped (LAYER_ARCHS=$(LAYER_ARCHS))"
endif

# The CDK drop-in shown in README.md (ParamsAndSecretsLayerVersion.fromVersionArn), synthesized
# with aws-cdk-lib pinned by layer/cdk/package-lock.json (installed into its git-ignored
# node_modules/, ~190 MB; npm ci ~10 s, synth ~3 s) and checked: layer/cdk/synth.test.mjs.
CDK_STAMP := layer/cdk/node_modules/.package-lock.json
$(CDK_STAMP): layer/cdk/package-lock.json
	cd layer/cdk && npm ci --no-audit --no-fund --silent

cdk-synth: $(CDK_STAMP)
	cd layer/cdk && node --test synth.test.mjs

# Everything CI checks, as timed stages in two lanes (the cargo builds in one, the installs and
# the client suites beside them), each stage's time printed at the end: scripts/test.sh.
test:
	scripts/test.sh

# What the test stages install from PyPI and npm, done early (scripts/test.sh runs it while cargo
# builds): cfn-lint, the client suites' pytest/Powertools/middy, the CDK, the SDK suites' boto3,
# AWS CLI and SDK v3.
test-installs: venv $(CFN_LINT_STAMP) $(CLIENTS_STAMP) $(MIDDY_STAMP) $(CDK_STAMP)
	scripts/test-sdk-python.sh --install-only
	scripts/test-sdk-node.sh --install-only

# A demo on moto in standalone mode: seeds values, starts sidecache, runs example curl calls.
run: venv build
	scripts/demo.sh

# sidecache as a Lambda extension under the fake Extensions API, narrated (docs/local-lambda.md).
lambda-local: venv build
	$(CARGO) build -p sidecache-tests --bin lambda-local
	scripts/demo.sh lambda

# What the client cold-path rows of `make bench` compare against on Node.js: the AWS SDK for
# JavaScript v3 SSM client, pinned by scripts/bench/node_deps/package-lock.json, installed into
# its node_modules/ (git-ignored). Without npm the row says n/a.
BENCH_NODE_STAMP := scripts/bench/node_deps/node_modules/.package-lock.json
$(BENCH_NODE_STAMP): scripts/bench/node_deps/package-lock.json
	cd scripts/bench/node_deps && npm ci --no-audit --no-fund --silent \
	  || echo "bench: @aws-sdk/client-ssm could not be installed: its row will say n/a"

# Release build, moto, wrk and callgrind: prints the performance table (docs/performance.md).
bench: venv release $(BENCH_NODE_STAMP)
	scripts/bench.sh

# The same, with the open-source aws_secretsmanager_agent measured beside sidecache (rows 9-13).
# Built once from crates.io into the git-ignored .bench-peer/ (several minutes the first time).
PEER_VERSION := 2.1.0
PEER_BIN := .bench-peer/bin/aws_secretsmanager_agent
$(PEER_BIN):
	$(CARGO) install --locked --quiet --root .bench-peer aws_secretsmanager_agent@$(PEER_VERSION)

bench-peer: venv release $(PEER_BIN) $(BENCH_NODE_STAMP)
	BENCH_PEER_BIN=$(PEER_BIN) scripts/bench.sh

# A soak (docs/reliability.md, "Soak"; not part of `make test`): sidecache under mixed load through
# every interface for SOAK_MINUTES (30) minutes, with TTL expiry, invalidations, rotating values,
# upstream faults and misbehaving clients, every answer checked; resources sampled each minute.
# The report goes to SOAK_REPORT, sidecache's log beside it; exits non-zero on a wrong answer, an
# unexplained error, growth or temp files left. The release build by default;
# `SOAK_PROFILE=debug SOAK_MINUTES=2 make soak` for a quick run. SOAK_ARGS="--rate 200 ..." adds
# options (tests/src/bin/soak.rs).
SOAK_MINUTES ?= 30
SOAK_PROFILE ?= release
SOAK_REPORT ?= target/soak-report.md
soak: venv
	$(CARGO) build $(if $(filter release,$(SOAK_PROFILE)),--release) -p sidecache
	$(CARGO) build --workspace --bins
	SIDECACHE_BIN=$(CURDIR)/target/$(SOAK_PROFILE)/sidecache target/debug/soak \
	  --minutes $(SOAK_MINUTES) --report $(SOAK_REPORT) $(SOAK_ARGS)

# A fleet of sidecache processes behind one throttled upstream (docs/performance.md, "Fleet
# simulation"). A benchmark, not a test: about 3 minutes. FLEET_ENVS / FLEET_DURATION or
# FLEET_ARGS="--envs 20 --tps 40 ..." change it.
fleet-sim: venv build
	$(VENV)/bin/python scripts/fleet_sim.py $(FLEET_ARGS)

# Fuzz targets (fuzz/, docs/reliability.md "Fuzzing"): libFuzzer through cargo-fuzz, on the
# stable toolchain (RUSTC_BOOTSTRAP=1 lets it pass the flags it needs; no sanitizer: the parsers
# are safe Rust). `make fuzz` builds them, then runs each for FUZZ_SECONDS on one core and fails
# on a crash; `make fuzz-long` runs each for FUZZ_LONG_SECONDS. FUZZ_TARGETS="query s3" picks.
# fuzz/ is a workspace of its own with its own target/: the first build compiles the AWS SDK
# once more, instrumented (FUZZ_BUILD_JOBS=1 leaves a core free).
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_SECONDS ?= 30
FUZZ_LONG_SECONDS ?= 900
FUZZ_TARGETS ?=
FUZZ_BUILD_JOBS ?=

cargo-fuzz:
	@cargo fuzz --version 2>/dev/null | grep -q ' $(CARGO_FUZZ_VERSION)$$' \
	  || $(CARGO) install --locked --quiet cargo-fuzz@$(CARGO_FUZZ_VERSION)

fuzz-build: cargo-fuzz
	RUSTC_BOOTSTRAP=1 $(if $(FUZZ_BUILD_JOBS),CARGO_BUILD_JOBS=$(FUZZ_BUILD_JOBS)) \
	  $(CARGO) fuzz build -s none -O

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-long: fuzz-build
	fuzz/run.sh $(FUZZ_LONG_SECONDS) $(FUZZ_TARGETS)

clean:
	$(CARGO) clean
	rm -rf $(VENV) .venv-sdk layer/cdk/node_modules scripts/bench/node_deps/node_modules tests/sdk/node/node_modules
