# arshield developer entry points. Everything runs natively (no Docker): see deploy/local/.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# `uv` when on PATH, else the pip-installed module (works right after `pip install uv`)
UV := $(shell command -v uv >/dev/null 2>&1 && echo uv || echo python3 -m uv)
TEST_DIRS = $(wildcard libs/*/tests services/*/tests tests-e2e)
SRC_DIRS = $(wildcard libs/*/src services/*/src)
TEST_MARKERS ?= unit or integration or e2e
PYTEST_ARGS ?=
# The last commit whose runtime polled (consumer, relay, dispatcher): the idle and hop benchmarks'
# baseline, measured in the same run.
POLLING_RUNTIME = 71dca36
# The last commit before the credit check's request path (autocommit, one-statement outbox append,
# pings only after idling) and before the insurance deadline engine's busy-tick work.
BEFORE_REQUEST_PATH = a86ee10
# The last commit before the deadline engine's tick was made cheaper per due buyer and per event
# (the collector paused for a day, orjson, ids by hashing).
BEFORE_CHEAPER_TICK = 2c01ac7

# pytest exits 5 when it collected no test: not a failure for these targets
define pytest
	rc=0; $(UV) run pytest $(1) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc
endef

.PHONY: help setup sync stack-up stack-down stack-reset stack-status lint test demo bench stop

help:
	@echo "make setup         install prerequisites, sync the workspace, start the local stack"
	@echo "make stack-up|stack-down|stack-reset|stack-status"
	@echo "make lint          ruff check, ruff format --check, mypy, lint-imports"
	@echo "make test          setup, then unit + integration + e2e tests"
	@echo "make demo          setup, then the end-to-end demo"
	@echo "make bench         setup, then the benchmarks"

setup:
	bash deploy/local/ensure-prereqs.sh
	@$(MAKE) --no-print-directory sync
	$(UV) run arshield stack up

sync:
	if [ -f uv.lock ]; then $(UV) sync --all-packages --frozen; else $(UV) sync --all-packages; fi

stack-up:
	$(UV) run arshield stack up

stack-down:
	$(UV) run arshield stack down

stack-reset:
	$(UV) run arshield stack reset --yes

stack-status:
	$(UV) run arshield stack status

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy $(SRC_DIRS)
	$(UV) run lint-imports

test: setup
	$(call pytest,-m "$(TEST_MARKERS)" $(TEST_DIRS))

demo: setup
	$(UV) run arshield demo

# Each prints its figures and the ratio to a baseline measured in the same run (see their docstrings).
bench: setup
	$(UV) run python libs/runtime/benchmarks/consume_throughput.py --events 100000
	$(UV) run python services/ledger/benchmarks/run.py ingest --events 100000
	$(UV) run python services/ledger/benchmarks/run.py latency --rate 1000 --seconds 20
	$(UV) run python services/ledger/benchmarks/run.py ageing
	$(UV) run python services/ledger/benchmarks/run.py rebuild
	$(UV) run python libs/runtime/benchmarks/http_load.py --duration 30
	$(UV) run python libs/runtime/benchmarks/hop_latency.py --events 300 --baseline $(POLLING_RUNTIME)
	$(UV) run python libs/runtime/benchmarks/idle_cpu.py --seconds 60 --baseline $(POLLING_RUNTIME)
	$(UV) run python libs/runtime/benchmarks/idle_cpu.py --seconds 60 --service dunning --baseline $(POLLING_RUNTIME)
	$(UV) run python services/credit-assessment/benchmarks/credit_check.py --duration 30 --baseline $(BEFORE_REQUEST_PATH)
	$(UV) run python services/credit-assessment/benchmarks/downgrade_latency.py --rate 1000 --baseline $(BEFORE_REQUEST_PATH)
	$(UV) run python services/insurance-claims/benchmarks/deadlines.py --buyers 10000 --baseline $(BEFORE_CHEAPER_TICK)
	$(UV) run python services/risk-monitor/benchmarks/score.py

stop:
	$(UV) run arshield stop
