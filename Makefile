# sbwatch: everything a fresh clone needs, from nothing installed.
#   make demo    replay the May 26 incident on the built-in simulator
#   make test    the whole suite (installs Debian test servers when run as root)
#   make check   lint + types + tests
#   make bench   benchmarks (ratios against baselines measured in the same run)

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test check lint types bench debs venv clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

venv: $(VENV)/.synced

debs:
	@bash scripts/install-debs.sh

demo: venv
	$(VENV)/bin/sbwatch demo --report sbwatch-demo.html

test: venv debs
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

types: venv
	$(VENV)/bin/mypy

check: lint types test

bench: venv debs
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
