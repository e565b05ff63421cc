# sbwatch: everything a fresh clone needs, from nothing installed.
#   make demo    replay the May 26 incident on the built-in simulator
#   make try     the simulator, a daemon watching it and a phone in this terminal (Ctrl-C stops)
#   make test    the whole suite (installs Debian test servers when run as root, and the
#                provider's CLI from npm into .tools/supabase-cli)
#   make check   lint + types + tests
#   make fuzz    long campaigns: ten minutes of the live chaos test (SBWATCH_CHAOS_SEED), the
#                invariants (FUZZ_SEED, FUZZ_COUNT, FUZZ_DAYS), then the scorecard against the
#                truth (SCORE_COUNT cases, failures shrunk to score-failures/)
#   make bench   benchmarks (ratios against baselines measured in the same run)
#   make install put `sbwatch` on PATH (PREFIX=/usr/local as root, ~/.local otherwise)

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

# `make install`: an environment of its own under $(PREFIX)/lib/sbwatch with the versions of
# uv.lock, and $(PREFIX)/bin/sbwatch linked to it. Needs only python3 (3.11+) with venv: uv is
# the pinned one above. For the systemd unit (ProtectHome=yes), as root with the system Python:
# `sudo make install PYTHON=/usr/bin/python3`.
PREFIX ?= $(if $(filter 0,$(shell id -u)),/usr/local,$(HOME)/.local)
# As root, the system Python when there is one: a Python under /root or /home (pyenv, say) is
# out of reach of the service's ProtectHome=yes.
PYTHON ?= $(if $(and $(filter 0,$(shell id -u)),$(wildcard /usr/bin/python3)),/usr/bin/python3,python3)
INSTALL_ENV = $(PREFIX)/lib/sbwatch
LOCKED = $(TOOLS)/requirements.txt

.PHONY: demo try test check lint types bench fuzz debs cli venv clean install uninstall

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (containers, CI
# images) nothing would ever write it, and each of the suite's hundreds of Python processes
# would compile again every module it imports, about half of a command's start-up CPU.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

venv: $(VENV)/.synced

debs:
	@bash scripts/install-debs.sh

cli:
	@bash scripts/install-supabase-cli.sh

demo: venv
	$(VENV)/bin/sbwatch demo --report sbwatch-demo.html

try: venv
	$(VENV)/bin/sbwatch try $(TRY_FLAGS)

# Four workers (pytest-xdist) on two cores: the live daemons' tests mostly wait while the
# unit tests compute. A file stays on one worker, so its module fixtures (the live escalation
# runs) run once; the files marked slow start first (tests/conftest.py). sbwatch's own
# modules are compiled first, for the processes the tests start: the install is editable,
# which the venv's --compile-bytecode leaves out.
test: venv debs cli
	$(PY) -m compileall -q src
	$(PY) -m pytest -q -n 4 --dist loadfile --durations=10

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

types: venv
	$(VENV)/bin/mypy

check: lint types test

FUZZ_SEED ?= 1
FUZZ_COUNT ?= 200
FUZZ_DAYS ?= 2
SCORE_COUNT ?= 2000

fuzz: venv debs
	SBWATCH_CHAOS_SECONDS=600 $(PY) -m pytest -q tests/system/test_chaos.py
	SBWATCH_BOTH_WAYS=$$(seq -s, 0 19) $(PY) -m pytest -q -n 2 tests/replay/test_fast_path.py
	$(VENV)/bin/sbwatch sim fuzz --seed $(FUZZ_SEED) --count $(FUZZ_COUNT) --days $(FUZZ_DAYS)
	$(VENV)/bin/sbwatch sim score --seed $(FUZZ_SEED) --count $(SCORE_COUNT) --days $(FUZZ_DAYS) --out score-failures

bench: venv debs
	$(PY) -m bench

install: $(UV)
	$(UV) export --frozen --no-dev --no-emit-project --quiet -o $(LOCKED)
	@case "$$(command -v $(PYTHON))" in /root/*|/home/*) echo "warning: $$(command -v $(PYTHON)) is under a home directory: the systemd unit (ProtectHome=yes) cannot run it; install with PYTHON=/usr/bin/python3 for the service" >&2;; esac
	$(UV) venv --quiet --allow-existing --python "$$(command -v $(PYTHON))" $(INSTALL_ENV)
	$(UV) pip install --quiet --python $(INSTALL_ENV)/bin/python -r $(LOCKED)
	$(UV) pip install --quiet --python $(INSTALL_ENV)/bin/python --no-deps --reinstall-package sbwatch .
	mkdir -p $(PREFIX)/bin
	ln -sfn $(INSTALL_ENV)/bin/sbwatch $(PREFIX)/bin/sbwatch
	@echo "installed $(PREFIX)/bin/sbwatch ($$($(PREFIX)/bin/sbwatch version))"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "note: $(PREFIX)/bin is not on PATH";; esac

uninstall:
	rm -f $(PREFIX)/bin/sbwatch
	rm -rf $(INSTALL_ENV)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
