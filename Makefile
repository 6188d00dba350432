# One-command set-up: every target installs what it needs on a fresh Debian/Ubuntu machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: render test lint golden system clean docs

render: $(STAMP) system
	$(BIN)/bpdiagram render -o output

test: $(TSTAMP) system
	$(BIN)/ruff check bpdiagram tests tools
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(TSTAMP)
	$(BIN)/ruff check bpdiagram tests tools
	$(BIN)/mypy

# regenerate the golden files in tests/golden after an intended change of output
golden: $(TSTAMP) system
	$(BIN)/python tests/regen_golden.py

# graphviz (the dot binary) and the DejaVu fonts the diagrams are measured with
system:
	@command -v dot >/dev/null 2>&1 && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || \
	  { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq graphviz fonts-dejavu-core; }

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TSTAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) output/*.svg output/*.png output/*.graphml .pytest_cache .mypy_cache .ruff_cache

# the pictures the README shows (committed, unlike output/)
docs: $(STAMP) system
	$(BIN)/bpdiagram render -t two-layer-binary -t three-layer-logistic -t relu-mlp -o docs/images -f png
	$(BIN)/bpdiagram render -t three-layer-elementwise -t single-neuron -o docs/images -f png
	$(BIN)/bpdiagram render docs/three-layer-backprop-to-2.yaml -o docs/images -f png
