# newsflow: the front door. `make` alone lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## install the package and dev tools into .venv (pinned by constraints.txt)

up: install ## run the whole stack (Docker Compose if a Docker engine answers, else local processes)
	@if docker info >/dev/null 2>&1; then docker compose --env-file deploy/local/versions.env up -d --build; \
	else PYTHON=$(PY) deploy/local/stack.sh up; fi

down: ## stop exactly what `make up` started
	@if docker info >/dev/null 2>&1; then docker compose --env-file deploy/local/versions.env down; \
	else deploy/local/stack.sh down; fi

status: install ## each service's state, queue depths, indexed documents, outcome counters
	@if docker info >/dev/null 2>&1; then docker compose --env-file deploy/local/versions.env ps; \
	else deploy/local/stack.sh status; fi
	@deploy/local/stack.sh env-run $(PY) -m shared.ops status

logs: ## follow the services' logs
	@if docker info >/dev/null 2>&1; then docker compose --env-file deploy/local/versions.env logs -f --tail 100; \
	else tail -n 100 -F run/stack/{crawler,crawler_beat,worker,indexer}.log; fi

search: install ## search the index: make search Q="putin syria" [ARGS="--topic energy --since 7d"]
	@deploy/local/stack.sh env-run $(PY) -m services.indexer search "$(Q)" $(ARGS)

dlq: install ## list dead letters
	@deploy/local/stack.sh env-run $(PY) -m shared.ops dlq

dlq-replay: install ## re-send every dead letter after a fix
	@deploy/local/stack.sh env-run $(PY) -m shared.ops dlq-replay

test: install lint ## install, lint, start real Redis + Elasticsearch, run the whole suite
	@deploy/local/test-servers.sh start
	@source run/test/servers.env && $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  deploy/local/test-servers.sh stop; exit $$rc

test-unit: install ## unit tests only (no servers)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: install ## ruff, mypy and the import contract (services never import each other)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

fmt: install ## format and autofix
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install ## benchmarks (print figures; they assert nothing)
	@deploy/local/test-servers.sh start
	@source run/test/servers.env && PYTHONPATH=. $(PY) scripts/bench_indexer.py; rc=$$?; \
	  if [ -f scripts/bench_crawler.py ]; then source run/test/servers.env && PYTHONPATH=. $(PY) scripts/bench_crawler.py || rc=1; fi; \
	  deploy/local/test-servers.sh stop; exit $$rc

CHAOS_ARGS ?=
chaos: install ## fault suite on the real stack (own Redis 6395, Elasticsearch 9260): one row per fault, ~15 min
	PYTHONPATH=. $(PY) -m tests.chaos $(CHAOS_ARGS)

DATA ?= ../shared/data/extraction-dev
eval-extraction: install ## extraction quality vs plain trafilatura: make eval-extraction DATA=...
	$(PY) scripts/eval_extraction.py --data $(DATA)

TOPICS_DATA ?= ../shared/data/topics-dev
eval-tagging: install ## topic tagger accuracy and speed: make eval-tagging TOPICS_DATA=...
	$(PY) scripts/eval_tagging.py --data $(TOPICS_DATA)

clean: down ## remove run state and caches (not the Elasticsearch download)
	rm -rf run .pytest_cache .ruff_cache .mypy_cache

.PHONY: help install up down status logs search dlq dlq-replay test test-unit lint fmt bench chaos eval-extraction eval-tagging clean
