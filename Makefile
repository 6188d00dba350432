# One-command set-up: every target installs what it needs on a fresh Debian/Ubuntu machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: render test lint golden system browser mxgraph latex clean docs site bench limits

render: $(STAMP) system
	$(BIN)/bpdiagram render -o output

test: $(TSTAMP) system browser mxgraph latex
	$(BIN)/ruff check bpdiagram tests tools benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(TSTAMP)
	$(BIN)/ruff check bpdiagram tests tools benchmarks
	$(BIN)/mypy

# regenerate the golden files in tests/golden after an intended change of output
golden: $(TSTAMP) system
	$(BIN)/python tests/regen_golden.py

# the benchmark (README "Performance", issues 8 and 16): prints the table the README shows, writes benchmarks/results.{txt,json};
# a full run installs torch and torchview into benchmarks/.venv-torch for the torchview comparison (--no-torch skips);
# BENCH_ARGS=--quick for a short run
bench: $(STAMP) system
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# how long the largest input each limit accepts takes, all formats (README "Reliability"); e.g.
# make limits LIMITS_ARGS="--only vectorized --layers 64,128"
limits: $(STAMP) system
	$(BIN)/python tools/limits.py $(LIMITS_ARGS)

# graphviz (the dot binary), librsvg's rsvg-convert (PNG and PDF) and the DejaVu fonts the diagrams are measured with
system:
	@command -v dot >/dev/null 2>&1 && command -v rsvg-convert >/dev/null 2>&1 && \
	  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || \
	  { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq graphviz librsvg2-bin fonts-dejavu-core; }

# Debian's TeX Live (pdflatex, TikZ, amsmath, Latin Modern) and poppler's pdftoppm, for the tests that compile
# -f tikz files and look at the PDF; the smallest set of TeX Live packages the TikZ file needs
latex:
	@command -v pdflatex >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 && \
	  kpsewhich tikz.sty lmodern.sty amsmath.sty >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends texlive-latex-base \
	      texlive-latex-recommended texlive-pictures lmodern poppler-utils; }

# Debian's chromium and its chromedriver, for the tests that drive the HTML page in a real browser
# (the tests use these system binaries only; nothing downloads a browser of its own)
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; }

# draw.io's engine (the npm package mxgraph, pinned), for the tests that load our .drawio files in chromium;
# node and npm from apt when missing; installed under tests/.mxgraph, never committed
MXGRAPH_VERSION := 4.2.2
MXCLIENT := tests/.mxgraph/node_modules/mxgraph/javascript/mxClient.min.js
mxgraph: $(MXCLIENT)

$(MXCLIENT):
	@command -v npm >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }
	npm install --prefix tests/.mxgraph --no-save --no-audit --no-fund --no-package-lock mxgraph@$(MXGRAPH_VERSION)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

# torch (the extra bpdiagram[torch], for from-torch and its tests) pinned first, so pip takes that CPU build and
# never resolves the extra to a multi-GB CUDA one
$(TSTAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test,docs,torch]'
	touch $@

clean:
	rm -rf $(VENV) site output/.bpdiagram output/*.svg output/*.png output/*.graphml output/*.pdf output/*.html output/*.dot .pytest_cache .mypy_cache .ruff_cache

# the pictures the README and the documentation site show (committed, unlike output/); the gallery has every template
docs: $(TSTAMP) system browser mxgraph
	$(BIN)/python tools/gallery.py docs/images/gallery
	$(BIN)/bpdiagram render -t two-layer-binary -t three-layer-logistic -t relu-mlp -t expression-add-mul -t expression-sigmoid-neuron -o docs/images -f png --force
	$(BIN)/bpdiagram render -t three-layer-elementwise -t single-neuron -o docs/images -f png --force
	$(BIN)/bpdiagram render -t residual-block -t batchnorm -o docs/images -f png --force
	$(BIN)/bpdiagram render docs/examples/three-layer-backprop-to-2.yaml -o docs/images -f png --force
	$(BIN)/bpdiagram render docs/examples/worked-example-values.yaml -o docs/images -f png --force
	$(BIN)/bpdiagram render docs/examples/line-jumps.yaml -o docs/images -f png --force
	$(BIN)/bpdiagram render docs/examples/cs231n-staged.yaml -o docs/images -f png --force
	$(BIN)/bpdiagram render -t vanishing-gradients docs/examples/vanishing-gradients-xavier.yaml -o docs/images -f png --force --wrap 3
	$(BIN)/bpdiagram render docs/examples/dls-l-layer.yaml -o docs/images -f png --force
	$(BIN)/bpdiagram render -t loss-scaling --loss-scale 1 --name loss-scaling-1 -o docs/images -f png --force --wrap 3 --width 1400
	$(BIN)/bpdiagram render -t loss-scaling --name loss-scaling-1024 -o docs/images -f png --force --wrap 3 --width 1400
	$(BIN)/bpdiagram render -t loss-scaling --loss-scale dynamic --name loss-scaling-dynamic -o docs/images -f png --force --wrap 3 --width 1400
	$(BIN)/bpdiagram render docs/examples/ten-layers.yaml -o docs/images -f png --force --width 800
	$(BIN)/python tools/closeup.py docs/examples/line-jumps.yaml --jumps none -o docs/images/line-jumps-none.png
	$(BIN)/python tools/closeup.py docs/examples/line-jumps.yaml --jumps arc -o docs/images/line-jumps-arc.png
	$(BIN)/bpdiagram render -t tiny-cnn -o docs/images -f png --force
	$(BIN)/bpdiagram render -t tiny-cnn --shapes --name tiny-cnn-shapes -o docs/images -f png --force
	$(BIN)/bpdiagram render -t tiny-cnn --values --name tiny-cnn-values -o docs/images -f png --force
	$(BIN)/bpdiagram render -t tiny-cnn --memory --batch 64 --name tiny-cnn-memory -o docs/images -f png --force
	$(BIN)/python -c "import bpdiagram; bpdiagram.template('two-layer-binary', theme='print').save('docs/images/two-layer-binary-print.png')"
	$(BIN)/python tools/html_screenshot.py two-layer-binary A1 docs/images/html-hover.png
	$(BIN)/python tools/html_screenshot.py two-layer-binary dZ1 docs/images/html-code.png --code
	$(BIN)/bpdiagram render -t two-layer-binary -o docs/images -f svg --force
	$(BIN)/python tools/drawio_screenshot.py two-layer-binary docs/images/two-layer-binary-drawio.png

# the documentation site (MkDocs with the Material theme) into site/, strictly: a broken link or a missing gallery
# picture fails the build
site: $(TSTAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
