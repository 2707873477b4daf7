# Lumyx — `make run` serves the product, `make test` lints and runs the whole suite,
# `make test-fast` runs the in-process tests (tests/unit) in seconds, `make lint` checks style.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app

.PHONY: run test test-fast lint prepare clean-venv

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.deps-run: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.deps-dev: requirements.txt requirements-dev.txt requirements-bench.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt -r requirements-bench.txt
	touch $@

prepare: $(VENV)/.deps-run
	$(FLASK) db upgrade
	$(FLASK) prepare

run: prepare
	exec $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

# ruff, pinned in requirements-dev.txt, with the settings in pyproject.toml.
lint: $(VENV)/.deps-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# `make test` lints first; `make test LINT=` does not (.ci/run lints once, then runs the
# suite on each database). pytest ends with its count ("1093 passed in 240s"), and fails
# the run when it collected nothing (exit status 5).
LINT := lint

# Everything the suite needs installed; `test` depends on it, and .ci/run makes it once
# before running two suites side by side.
TEST_DEPS := $(VENV)/.deps-dev tools browser haproxy compose bench-portkey nginx

.PHONY: test-deps
test-deps: $(TEST_DEPS)

test: $(LINT) $(TEST_DEPS)
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: $(VENV)/.deps-dev
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)

# Integration clients (tests/integrations): Node.js 22, the OpenAI Node SDK, Claude Code and Codex CLI
# from tests/integrations/package-lock.json; aider and LiteLLM in a venv of their own.
# Pinned; a second run does nothing until a pin changes.
TOOLS_VENV := .venv-tools
AGENTS_VENV := .venv-agents
INTEGRATIONS := tests/integrations

.PHONY: tools clean-tools

tools: $(INTEGRATIONS)/node_modules/.installed $(TOOLS_VENV)/.installed $(AGENTS_VENV)/.installed

$(INTEGRATIONS)/node_modules/.installed: $(INTEGRATIONS)/package.json $(INTEGRATIONS)/package-lock.json
	cd $(INTEGRATIONS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(TOOLS_VENV)/.installed: $(INTEGRATIONS)/requirements-tools.txt
	python3 -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install -q --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install -q -r $(INTEGRATIONS)/requirements-tools.txt
	touch $@

# The OpenAI Agents SDK needs openai 3.x, aider-chat pins openai 2.x: a venv of its own.
$(AGENTS_VENV)/.installed: $(INTEGRATIONS)/requirements-agents.txt
	python3 -m venv $(AGENTS_VENV)
	$(AGENTS_VENV)/bin/python -m pip install -q --upgrade pip
	$(AGENTS_VENV)/bin/python -m pip install -q -r $(INTEGRATIONS)/requirements-agents.txt
	touch $@

clean-tools:
	rm -rf $(TOOLS_VENV) $(AGENTS_VENV) $(INTEGRATIONS)/node_modules

# Browser tests (tests/browser) drive Debian's Chromium with Playwright; this installs
# it when /usr/bin/chromium is missing (a fresh CI machine), and does nothing otherwise.
CHROMIUM := /usr/bin/chromium

.PHONY: browser screenshots

browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi

# The reverse-proxy tests (tests/reliability/test_behind_haproxy.py) put Debian's haproxy in
# front of the server; this installs it when missing, and does nothing otherwise.
.PHONY: haproxy

haproxy:
	@command -v haproxy >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy)

# The deployment recipe's test (tests/cli/test_deploy_recipe.py) checks deploy/compose.yaml
# with `docker-compose config` (Debian's docker-compose; no container engine needed);
# this installs it when missing, and does nothing otherwise.
.PHONY: compose

compose:
	@command -v docker-compose >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose)

# Refreshes docs/screenshots/ (each main page, desktop and phone) from the live server.
screenshots: $(VENV)/.deps-dev browser
	$(PY) -m pytest -q tests/browser/screenshots.py

# Benchmarks (bench/): `make bench` runs every scenario side by side with LiteLLM's proxy
# (installed into a venv of its own), Portkey's gateway (npm, bench/portkey/) and nginx's
# proxy_pass, and writes bench/RESULTS.md; about an hour.
BENCH_VENV := bench/.venv-litellm
PORTKEY := bench/portkey

.PHONY: bench bench-quick bench-litellm bench-portkey bench-wrk bench-outside wrk h2load nginx

$(BENCH_VENV)/.installed: bench/litellm/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -r bench/litellm/requirements.txt
	touch $@

bench-litellm: $(BENCH_VENV)/.installed

# Portkey's open-source gateway, pinned in bench/portkey/package-lock.json.
$(PORTKEY)/node_modules/.installed: $(PORTKEY)/package.json $(PORTKEY)/package-lock.json
	cd $(PORTKEY) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench-portkey: $(PORTKEY)/node_modules/.installed

BENCH_PEERS := bench-litellm bench-portkey nginx

bench: $(VENV)/.deps-dev $(BENCH_PEERS)
	$(PY) bench/run.py $(BENCH_ARGS)

bench-quick: $(VENV)/.deps-dev $(BENCH_PEERS)
	$(PY) bench/run.py --quick $(BENCH_ARGS)

# Debian's wrk, h2load (nghttp2-client) and nginx, each installed when missing.
wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

h2load:
	@command -v h2load >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends nghttp2-client)

nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx)

# Every way measured with wrk and h2load (bench/outside_tools.py); `make bench-wrk` is wrk alone.
bench-outside: $(VENV)/.deps-dev $(BENCH_PEERS) wrk h2load
	$(PY) bench/outside_tools.py $(OUTSIDE_ARGS)

bench-wrk: $(VENV)/.deps-dev $(BENCH_PEERS) wrk
	$(PY) bench/outside_tools.py --only wrk $(OUTSIDE_ARGS)
