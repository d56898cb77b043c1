# The two commands that matter: `make demo` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KIT := $(VENV)/bin/kit
STAMP := $(VENV)/.installed-stamp
KIT_BASE_IMAGE ?=

.PHONY: setup host-tools demo test unit integration bench bench-peers lint docs clean

setup: $(STAMP)

# The kit depends on mcpkit-runtime at its own version, which is on no package index: one pip call installs both
# from this checkout (editable: the kit then builds the servers' runtime wheel from runtime/).
$(STAMP): pyproject.toml runtime/pyproject.toml servers/*/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]" -e runtime -e "servers/analyst[test]" -e "servers/mailer[test]"
	touch $(STAMP)

# The kit's own base image needs debootstrap on the host; a base named in KIT_BASE_IMAGE does not.
host-tools:
	@if [ -z "$(KIT_BASE_IMAGE)" ] && ! command -v debootstrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing debootstrap (for the base image)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; \
	  else \
	    echo "note: debootstrap is missing; if the base image must be built, install it (sudo apt-get install debootstrap)"; \
	    echo "      or use a standard base: KIT_BASE_IMAGE=python:3.12-slim make demo"; \
	  fi; \
	fi

demo: setup host-tools
	$(KIT) demo

# Unit tier first (no Docker, seconds), then the integration tier (real engine, images, PostgreSQL).
test: setup host-tools
	$(PY) -m pytest -m "not docker"
	$(PY) -m pytest -m docker

unit: setup
	$(PY) -m pytest -m "not docker"

integration: setup host-tools
	$(PY) -m pytest -m docker

# Speed targets live here, never in test assertions. Prints a table, writes .bench/*.json.
bench: setup host-tools
	$(PY) bench/inner_loop_bench.py
	$(PY) bench/start_bundle_bench.py
	$(PY) bench/kit_bench.py
	TESTCONTAINERS_RYUK_DISABLED=true $(PY) bench/analyst_bench.py
	$(PY) bench/runtime_bench.py
	$(PY) bench/observe_bench.py
	$(MAKE) bench-peers
	$(PY) bench/gateway_bench.py
	$(PY) bench/rmcp_auto_bench.py

# The gateway's peers, each in its own environment (they need mcp<2); the bench leaves out any that fails to install.
bench-peers:
	test -x .bench/peers/mcp-proxy/bin/mcp-proxy || { python3 -m venv .bench/peers/mcp-proxy && \
		.bench/peers/mcp-proxy/bin/pip install --quiet "mcp-proxy==0.13.*"; } || echo "mcp-proxy not installed: left out"
	test -x .bench/peers/fastmcp/bin/fastmcp || { python3 -m venv .bench/peers/fastmcp && \
		.bench/peers/fastmcp/bin/pip install --quiet "fastmcp==4.1.*"; } || echo "fastmcp not installed: left out"

lint: setup
	$(VENV)/bin/ruff check kit runtime tests servers bench conftest.py
	$(VENV)/bin/ruff format --check kit runtime tests servers bench conftest.py
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache

docs: setup
	$(VENV)/bin/typer kit.cli utils docs --name kit --output docs/cli.md
