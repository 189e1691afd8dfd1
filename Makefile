# The README's commands. Everything a target needs is installed by the target itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV ?= dev
export SUITE_VENV ?= $(CURDIR)/.venv
VENV_BIN := $(SUITE_VENV)/bin

.PHONY: help tools test lint unit-and-integration infra-lint infra-test ops-test demo bench deploy moto-start moto-stop clean-local redrive watch invoke

help:
	@echo "make demo    run sample uploads through every function against the local AWS"
	@echo "make test    the whole test suite: lint, unit, moto-backed integration, infra lint"
	@echo "make bench   benchmarks; writes target/bench/report.json"
	@echo "make deploy ENV=dev|staging|prod   sam build + sam deploy"
	@echo "make redrive QUEUE=<dlq> [SOURCE=<queue>] [MATCH=<text in failure_reason>] [MAX=N] [DRY_RUN=1]"
	@echo "             move dead letters back to their queue (AWS credentials and region from the environment)"
	@echo "make watch F=<function>                serve one function on the local AWS (provisioned when needed)"
	@echo "make invoke F=<function> E=<event>     send it an event (uses a running watch, or starts one)"

tools:
	@tools/bootstrap.sh

test: tools lint unit-and-integration infra-lint infra-test ops-test
	@echo "make test: all checks passed"
	@tools/test-summary.sh target/cargo-test.log

# ruff checks only the files whose findings are fixed so far; widen to `tools` when the rest are.
RUFF_PATHS ?= tools/redrive.py tools/local_function.py tools/ops_tests

lint: tools
	$(VENV_BIN)/ruff check $(RUFF_PATHS)
	cargo fmt --all --check
	tools/check-deps.sh
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

# The operator commands (redrive, watch, invoke), against moto.
ops-test: tools
	tools/with-moto.sh $(VENV_BIN)/python -m pytest -q tools/ops_tests

demo: tools
	tools/demo.sh

bench: tools
	tools/bench.sh

deploy:
	cd infra && sam build --template-file template.yaml && sam deploy --config-env $(ENV)

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
	$(VENV_BIN)/python tools/redrive.py "$$QUEUE" $${SOURCE:+--source "$$SOURCE"} $${MATCH:+--match "$$MATCH"} $${MAX:+--max "$$MAX"} $$dry

# One function on the local AWS with its provisioned environment (tools/local_function.py).
watch: tools
	@$(VENV_BIN)/python tools/local_function.py watch "$${F:-}"

invoke: tools
	@$(VENV_BIN)/python tools/local_function.py invoke "$${F:-}" "$${E:-}"
