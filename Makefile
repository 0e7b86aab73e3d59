# dlcourse: two commands on a fresh clone.
#   make book   -- set up .venv, build the book (executing notebooks), print where it is
#   make test   -- set up .venv, run ruff and the whole test suite (unit, exercises, nbval, book build)
# Helpers: make lab, make bench, make release, make publish, make clean.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
# The CPU wheel of torch that lies on disk; override with TORCH="torch==2.5.1", or TORCH= to skip torch.
TORCH  ?= torch==2.13.0
EXTRAS := $(if $(strip $(TORCH)),all,book,dev)
STAMP  := $(VENV)/.installed-$(EXTRAS)
JB_OPTS ?=

.PHONY: book test lab bench release publish clean distclean setup sysdeps

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@if [ -n "$(strip $(TORCH))" ]; then echo "installing $(TORCH)"; $(PY) -m pip install --quiet "$(TORCH)"; fi
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $@

# Chapters from 9 on train on Fashion-MNIST: Debian's package (sysdeps), else a download when
# the network allows; without either the build still succeeds (book/_ext/data_notes.py shows
# those chapters with their committed outputs and a note on how to get the data).
book: $(STAMP) sysdeps
	@$(PY) -c "import dlcourse.data as d, sys; sys.exit(not d.available('fashion'))" \
		|| $(BIN)/dlcourse data fetch fashion \
		|| echo "note: Fashion-MNIST is not available; its chapters show their committed outputs"
	$(BIN)/jupyter-book build . --path-output . $(JB_OPTS)
	@echo "The book is at: $(CURDIR)/_build/html/index.html"

# System packages the tests use: headless Chromium (browser check of the built book),
# Debian's Fashion-MNIST (loader test on the real files) and bubblewrap (the sandbox the
# grader runs student code in; without it the grader refuses and its tests are skipped).
# Installed when we are root with apt-get; otherwise the tests that need them are skipped
# with a reason.
SYSPKGS := chromium chromium-driver dataset-fashion-mnist bubblewrap
sysdeps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
		&& command -v bwrap >/dev/null 2>&1 && [ -d /usr/share/datasets/fashion-mnist ]; then \
		true; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing system packages: $(SYSPKGS)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSPKGS) >/dev/null) \
		|| echo "warning: could not install $(SYSPKGS); the tests that need them will be skipped"; \
	else \
		echo "note: not root, so $(SYSPKGS) are not installed; the tests that need them will be skipped"; \
	fi

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

clean:
	rm -rf _build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
