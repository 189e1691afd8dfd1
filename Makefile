# The README's commands. Everything a target needs is installed by the target itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV ?= dev
export SUITE_VENV ?= $(CURDIR)/.venv
VENV_BIN := $(SUITE_VENV)/bin

.PHONY: help tools test lint unit-and-integration infra-lint infra-test ops-test demo bench deploy moto-start moto-stop clean-local redrive watch invoke package report query report-test browser-test chromium

help:
	@echo "make demo    run sample uploads through every function against the local AWS"
	@echo "make test    the whole test suite: lint, unit, moto-backed integration, infra lint"
	@echo "make bench   benchmarks; writes target/bench/report.json"
	@echo "make package  arm64 zips of every function + sam build (no AWS calls)"
	@echo "make deploy ENV=dev|staging|prod|prod-cn   make package + sam deploy"
	@echo "make redrive QUEUE=<dlq> [SOURCE=<queue>] [MATCH=<text in failure_reason>] [MAX=N] [DRY_RUN=1]"
	@echo "             move dead letters back to their queue (AWS credentials and region from the environment)"
	@echo "make watch F=<function>                serve one function on the local AWS (provisioned when needed)"
	@echo "make invoke F=<function> E=<event>     send it an event (uses a running watch, or starts one)"
	@echo "make report [DAYS=7 | FROM=YYYY-MM-DD TO=YYYY-MM-DD]   HTML charts: target/report/index.html"
	@echo "make query SQL=\"...\" | SQL_FILE=file.sql | QUERY=name   DuckDB over the raw events (infra/queries/)"

tools:
	@tools/bootstrap.sh

test: tools lint unit-and-integration infra-lint infra-test ops-test report-test
	@echo "make test: all checks passed"
	@tools/test-summary.sh target/cargo-test.log

# Every Python file of the repository is in the package `tools` (configuration in pyproject.toml).
RUFF_PATHS ?= tools

lint: tools
	$(VENV_BIN)/ruff check $(RUFF_PATHS)
	cargo fmt --all --check
	tools/check-deps.sh
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit-and-integration: tools
	@mkdir -p target
	set -o pipefail; tools/with-moto.sh cargo test --workspace --locked 2>&1 | tee target/cargo-test.log
	@tools/test-summary.sh target/cargo-test.log

# cfn-lint (us-east-1 and cn-northwest-1), checkov and `sam validate --lint`, all offline.
infra-lint: tools
	tools/infra-lint.sh

# Local provisioning vs infra/template.yaml (no drift), against moto.
infra-test: tools
	tools/with-moto.sh $(VENV_BIN)/python -m pytest -q tools/tests

# The operator commands (redrive, watch, invoke), against moto.
ops-test: tools
	tools/with-moto.sh $(VENV_BIN)/python -m pytest -q tools/ops_tests

demo: tools
	tools/demo.sh

# The report and the queries read the local AWS when it runs (tools/moto.sh start), else the
# account of AWS_PROFILE / AWS_REGION; RESULTS_BUCKET names the bucket (see tools/report/).
export FROM TO DAYS SQL SQL_FILE QUERY
report: tools
	@eval "$$(tools/report/aws-env.sh)"; $(VENV_BIN)/python -m tools.report.report

query: tools
	@eval "$$(tools/report/aws-env.sh)"; \
	if [ -n "$$SQL_FILE" ]; then exec $(VENV_BIN)/python -m tools.report.query --file "$$SQL_FILE"; \
	elif [ -n "$$QUERY" ]; then exec $(VENV_BIN)/python -m tools.report.query --named "$$QUERY"; \
	elif [ -n "$$SQL" ]; then exec $(VENV_BIN)/python -m tools.report.query --sql "$$SQL"; \
	else echo 'usage: make query SQL="SELECT ..." | SQL_FILE=file.sql | QUERY=name (one of infra/queries/)' >&2; exit 2; fi

chromium:
	@tools/report/install-chromium.sh

# The report in headless Chromium, the named queries against the rollups (real stats-aggregator,
# moto), and the demo's build progress.
report-test: tools chromium
	tools/with-moto.sh $(VENV_BIN)/python -m pytest -q tools/report/tests tools/demo/tests

browser-test: report-test

bench: tools
	tools/bench.sh

# DEPLOY_FLAGS: extra `sam deploy` flags (CI passes --no-confirm-changeset: there the GitHub
# environment's reviewers confirm instead).
DEPLOY_FLAGS ?=

# The arm64 zips the template's CodeUri names (target/lambda/<function>/bootstrap.zip, whatever
# CARGO_TARGET_DIR says), then `sam build` into target/sam. cargo-lambda cross-compiles with the
# zig the venv holds (PyPI ziglang, a cargo-lambda dependency).
package: tools
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(VENV_BIN):$$PATH" $(VENV_BIN)/cargo-lambda lambda build --release --arm64 --output-format zip \
		--workspace --locked --lambda-dir $(CURDIR)/target/lambda
	cd infra && ../tools/sam.sh build --template-file template.yaml --build-dir ../target/sam
	SUITE_PACKAGED=1 $(VENV_BIN)/python -m pytest -q tools/tests/test_package.py

deploy: package
	@case "$(ENV)" in dev|staging|prod|prod-cn) ;; *) echo "deploy: ENV must be dev, staging, prod or prod-cn" >&2; exit 2;; esac
	cd infra && ../tools/sam.sh deploy --config-env $(ENV) --template-file ../target/sam/template.yaml $(DEPLOY_FLAGS)

moto-start: tools
	@tools/moto.sh start

moto-stop:
	@tools/moto.sh stop

# Dead letters back to the queue whose redrive policy names the DLQ (RELIABILITY.md section 3).
# The variables reach the command through the environment (make exports command-line variables),
# so any text in MATCH, commas and quotes included, arrives unchanged.
redrive: tools
	@if [ -z "$${QUEUE:-}" ]; then echo "usage: make redrive QUEUE=<dead-letter queue name, URL or ARN> [SOURCE=<queue>] [MATCH=<text in failure_reason>] [MAX=N] [DRY_RUN=1]" >&2; exit 2; fi
	@case "$${DRY_RUN:-0}" in 0|no|false) dry=;; *) dry=--dry-run;; esac; \
	$(VENV_BIN)/python -m tools.redrive "$$QUEUE" $${SOURCE:+--source "$$SOURCE"} $${MATCH:+--match "$$MATCH"} $${MAX:+--max "$$MAX"} $$dry

# One function on the local AWS with its provisioned environment (tools/local_function.py).
watch: tools
	@$(VENV_BIN)/python -m tools.local_function watch "$${F:-}"

invoke: tools
	@$(VENV_BIN)/python -m tools.local_function invoke "$${F:-}" "$${E:-}"
