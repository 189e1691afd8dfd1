# The README's commands. Everything a target needs is installed by the target itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV ?= dev
export SUITE_VENV ?= $(CURDIR)/.venv
VENV_BIN := $(SUITE_VENV)/bin

.PHONY: help tools test lint unit-and-integration infra-lint infra-test demo bench deploy moto-start moto-stop clean-local \
	report query report-test browser-test chromium

help:
	@echo "make demo    run sample uploads through every function against the local AWS"
	@echo "make test    the whole test suite: lint, unit, moto-backed integration, infra lint"
	@echo "make bench   benchmarks; writes target/bench/report.json"
	@echo "make report [DAYS=7 | FROM=YYYY-MM-DD TO=YYYY-MM-DD]   HTML charts: target/report/index.html"
	@echo "make query SQL=\"...\" | SQL_FILE=file.sql | QUERY=name   DuckDB over the raw events (infra/queries/)"
	@echo "make deploy ENV=dev|staging|prod   sam build + sam deploy"

tools:
	@tools/bootstrap.sh

test: tools lint unit-and-integration infra-lint infra-test report-test
	@echo "make test: all checks passed"
	@tools/test-summary.sh target/cargo-test.log

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit-and-integration: tools
	@mkdir -p target
	set -o pipefail; tools/with-moto.sh cargo test --workspace --locked 2>&1 | tee target/cargo-test.log
	@tools/test-summary.sh target/cargo-test.log

infra-lint: tools
	tools/infra-lint.sh

# Local provisioning vs infra/template.yaml (no drift), against moto.
infra-test: tools
	tools/with-moto.sh $(VENV_BIN)/python -m pytest -q tools/tests

demo: tools
	tools/demo.sh

# The report and the queries read the local AWS when it runs (tools/moto.sh start), else the
# account of AWS_PROFILE / AWS_REGION; RESULTS_BUCKET names the bucket (see tools/report/).
export FROM TO DAYS SQL SQL_FILE QUERY
report: tools
	@eval "$$(tools/report/aws-env.sh)"; $(VENV_BIN)/python tools/report/report.py

query: tools
	@eval "$$(tools/report/aws-env.sh)"; \
	if [ -n "$$SQL_FILE" ]; then exec $(VENV_BIN)/python tools/report/query.py --file "$$SQL_FILE"; \
	elif [ -n "$$QUERY" ]; then exec $(VENV_BIN)/python tools/report/query.py --named "$$QUERY"; \
	elif [ -n "$$SQL" ]; then exec $(VENV_BIN)/python tools/report/query.py --sql "$$SQL"; \
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

deploy:
	cd infra && sam build --template-file template.yaml && sam deploy --config-env $(ENV)

moto-start: tools
	@tools/moto.sh start

moto-stop:
	@tools/moto.sh stop
