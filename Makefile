# The README's commands. Everything a target needs is installed by the target itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV ?= dev
export SUITE_VENV ?= $(CURDIR)/.venv
VENV_BIN := $(SUITE_VENV)/bin

.PHONY: help tools test lint unit-and-integration infra-lint infra-test demo bench deploy moto-start moto-stop clean-local

help:
	@echo "make demo    run sample uploads through every function against the local AWS"
	@echo "make test    the whole test suite: lint, unit, moto-backed integration, infra lint"
	@echo "make bench   benchmarks; writes target/bench/report.json"
	@echo "make deploy ENV=dev|staging|prod   sam build + sam deploy"

tools:
	@tools/bootstrap.sh

test: tools lint unit-and-integration infra-lint infra-test
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

bench: tools
	tools/bench.sh

deploy:
	cd infra && sam build --template-file template.yaml && sam deploy --config-env $(ENV)

moto-start: tools
	@tools/moto.sh start

moto-stop:
	@tools/moto.sh stop
