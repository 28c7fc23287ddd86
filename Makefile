# The two commands a newcomer needs: `make up` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
BATCH_PORT ?= 8765

# Every stack command is the plain `pulumi` CLI with the toolchain on PATH (toolchain/activate).
PULUMI := source toolchain/activate && pulumi

.PHONY: up down test install toolchain service service-stop preview refresh drift logs bench lint clean

up: install toolchain service ## install everything, start the local Batch service, pulumi up the dev stack
	@$(PY) -m deploy unlock --stack $(STACK)
	$(PULUMI) stack select --create $(STACK)
	$(PULUMI) up --yes --stack $(STACK)

down: install toolchain ## destroy the dev stack and stop the local service
	$(PULUMI) destroy --yes --stack $(STACK)
	$(PY) -m deploy service stop

preview: install toolchain service
	$(PULUMI) preview --diff --stack $(STACK)

refresh: install toolchain service
	$(PULUMI) refresh --yes --stack $(STACK)

drift: install toolchain service ## non-zero exit when the live service differs from the stack
	$(PULUMI) preview --refresh --expect-no-changes --stack $(STACK)

logs: install toolchain ## a task's stdout/stderr: make logs TASK=job/task [STACK=dev] [FOLLOW=1]
	@test -n "$(TASK)" || { echo "usage: make logs TASK=job/task [STACK=dev] [FOLLOW=1]"; exit 2; }
	$(PY) -m deploy logs $(TASK) --stack $(STACK) $(if $(FOLLOW),--follow)

test: install toolchain ## unit, service and end-to-end tests (real engine, real service)
	$(PY) -m pytest

# Bytecode for the project's own packages, written here because an environment with PYTHONDONTWRITEBYTECODE=1
# (like this machine's) would otherwise recompile them in every process, each dynamic-provider host included.
install: $(VENV)/.installed
	@$(PY) -m compileall -q providers deploy batch_service toolchain/langhost >/dev/null

$(VENV)/.installed: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt --config-settings editable_mode=compat -e '.[test]'
	touch $@

toolchain: ## build the Pulumi engine from Go modules into .toolchain/bin (cached)
	bash toolchain/build.sh

service: install
	$(PY) -m deploy service start --port $(BATCH_PORT)

service-stop: install
	$(PY) -m deploy service stop

bench: install toolchain
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: install
	$(VENV)/bin/ruff check batch_api providers batch_service deploy toolchain/langhost policies tests benchmarks
	$(VENV)/bin/mypy batch_api providers deploy batch_service toolchain/langhost policies

clean:
	rm -rf .state .pulumi-home .data
