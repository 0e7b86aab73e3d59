# dlcourse: two commands on a fresh clone (`make help` lists every target).
#   make book   -- set up .venv, build the book (executing notebooks), print where it is
#   make test   -- set up .venv, run ruff and the whole test suite (unit, exercises, nbval, book build)
# Needs Python >= 3.11 with its venv module (Debian/Ubuntu: apt-get install python3-venv) and make.

.DEFAULT_GOAL := help
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
# The one lock of versions (make lock writes it from pyproject.toml); make, CI, Binder and the
# Gradescope autograder install it.
LOCK   := requirements/lock.txt
# PyTorch: the lock's CPU build by default (macOS: the same version, whose wheels are CPU
# builds anyway); TORCH="torch==2.5.1" picks another version, TORCH= installs no PyTorch.
LOCKED_TORCH := $(shell sed -n 's/^\(torch==[^ ;]*\).*/\1/p' $(LOCK))
TORCH  ?= $(if $(filter Darwin,$(shell uname -s)),$(firstword $(subst +, ,$(LOCKED_TORCH))),$(LOCKED_TORCH))
# PyTorch's index of CPU wheels, as pyproject.toml names it (read only when torch is installed)
TORCH_INDEX = $(shell $(PYTHON) tools/lock.py --torch-index)
EXTRAS := $(if $(strip $(TORCH)),all,book,dev)
# The stamp names what was installed: another TORCH, or a new lock, installs again.
STAMP  := $(VENV)/.installed-$(shell printf '%s' '$(EXTRAS) $(TORCH)' | cksum | cut -d' ' -f1)
# warnings (and so a chapter whose execution fails) are errors, as in CI
JB_OPTS ?= -W -n --keep-going

.PHONY: help book test lab bench release publish clean distclean setup sysdeps data lock dist

help:
	@echo "dlcourse -- make TARGET (each sets up .venv on first use):"
	@echo "  book       build the book into _build/html (executes the notebooks that changed)"
	@echo "  test       ruff and the whole test suite (unit, exercises, notebooks, book build, browser)"
	@echo "  lab        JupyterLab on book/, with the course's environment"
	@echo "  bench      the speed and accuracy benchmarks (QUICK=1: reduced runs)"
	@echo "  release    write exercises/ from solutions/"
	@echo "  publish    build the book and push it to the gh-pages branch (ghp-import)"
	@echo "  dist       the wheel and sdist in dist/, checked with twine"
	@echo "  setup      only create .venv and install the lock ($(LOCK))"
	@echo "  lock       re-resolve $(LOCK) from pyproject.toml (UPGRADE=1: newest releases)"
	@echo "  sysdeps    check (on Debian as root: install) a headless browser, bubblewrap, Fashion-MNIST"
	@echo "  data       download Fashion-MNIST when it is not on this machine"
	@echo "  clean, distclean (also removes .venv)"
	@echo "Options: TORCH=\"torch==X.Y.Z\" or TORCH= (no PyTorch); PYTHON=python3.12; STRICT=1 (CI: a"
	@echo "missing browser or data set is an error, not a skipped test)."

setup: $(STAMP)

# The lock without torch comes from PyPI; torch alone from PyTorch's CPU index (asking that
# index for every package would be slow where it cannot be reached).
$(STAMP): $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); the lock needs 3.11 or newer (make PYTHON=python3.12 ...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "error: $(PYTHON) -m venv failed; on Debian/Ubuntu: apt-get install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	@grep -v '^torch==' $(LOCK) > $(VENV)/lock-without-torch.txt
	$(PY) -m pip install --quiet -r $(VENV)/lock-without-torch.txt
	@if [ -n "$(strip $(TORCH))" ]; then echo "installing $(TORCH) from $(TORCH_INDEX)"; \
		$(PY) -m pip install --quiet --index-url $(TORCH_INDEX) \
			$(if $(filter $(TORCH),$(LOCKED_TORCH)),--no-deps) "$(TORCH)" || exit 1; \
	else $(PY) -m pip uninstall --quiet --yes torch 2>/dev/null || true; fi
	$(PY) -m pip install --quiet --no-deps -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $@

# Re-resolve the lock (and binder/requirements.txt) with uv; TORCH_WHEELS=DIR stands in for
# PyTorch's CPU index on a machine that has its wheels on disk but cannot reach it.
lock:
	@test -x $(PY) || { echo "error: run make setup first (make lock uses .venv's uv)"; exit 1; }
	$(PY) tools/lock.py $(if $(UPGRADE),--upgrade) $(if $(TORCH_WHEELS),--torch-wheels $(TORCH_WHEELS))

# Chapters from 9 on train on Fashion-MNIST: Debian's package (sysdeps), else a download when
# the network allows; without either the build still succeeds (book/_ext/data_notes.py shows
# those chapters with their committed outputs and a note on how to get the data).
book: $(STAMP) sysdeps data
	$(BIN)/jupyter-book build . --path-output . $(JB_OPTS)
	@echo "The book is at: $(CURDIR)/_build/html/index.html"

# Fashion-MNIST where dlcourse looks for it; else a checksummed download into ~/.cache/dlcourse.
# Without network the build still succeeds; with STRICT=1 (CI) a failed download is an error.
data: $(STAMP)
	@$(PY) -c "import dlcourse.data as d, sys; sys.exit(not d.available('fashion'))" \
		|| $(BIN)/dlcourse data fetch fashion \
		|| { if [ -n "$(STRICT)" ]; then echo "error: Fashion-MNIST could not be downloaded"; exit 1; fi; \
		     echo "note: Fashion-MNIST is not available; its chapters show their committed outputs"; }

# System packages the tests use: a headless browser with its driver (browser check of the built
# book), bubblewrap (the sandbox the grader runs student code in; without it the grader refuses
# and its tests are skipped) and, on Debian, its Fashion-MNIST package. tools/sysdeps.sh checks each by name and
# installs what it can (Debian, as root); each missing piece is named, an error with STRICT=1.
sysdeps:
	@STRICT="$(STRICT)" bash tools/sysdeps.sh

# axe-core (the accessibility checker the browser test injects into each page), from the npm
# registry into .venv/npm; without npm the accessibility test is skipped with a reason.
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js
$(AXE):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix $(VENV)/npm axe-core@4 >/dev/null 2>&1 \
		|| echo "note: could not install axe-core with npm; the accessibility test will be skipped"; \
	else echo "note: npm not found; the accessibility test will be skipped"; fi

# The suite runs on every core (pytest-xdist, JOBS=1 for one process), a test file per worker
# at a time, the longest files first (tests/conftest.py). Each worker keeps the
# thread pools of OpenBLAS and PyTorch to one thread: two workers each running two BLAS threads
# on two cores are many times slower than one thread each. The numbers do not depend on it
# (the tests compare with tolerances; CONTRIBUTING.md, "Running the tests", says how to
# run them with other settings).
JOBS ?= auto
test: $(STAMP) sysdeps $(AXE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(BIN)/pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder

# JupyterLab on the book with the course's environment; as root (a container) it needs
# --allow-root, which JupyterLab otherwise refuses.
LAB_OPTS ?=
lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_OPTS) book/

# make bench QUICK=1: every script with --quick (reduced runs, about two minutes in all)
bench: $(STAMP)
	$(BIN)/dlcourse bench $(if $(QUICK),--quick)

release: $(STAMP)
	$(BIN)/dlcourse release

# Deploy the built book to the gh-pages branch (for those not using .github/workflows/book.yml).
publish: book
	$(BIN)/ghp-import --no-jekyll --push --force _build/html

# The release artefacts: wheel and sdist (the wheel built from the sdist, as PyPI users get
# it), checked with twine (metadata, README rendering). .github/workflows/publish.yml does this.
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf _build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
