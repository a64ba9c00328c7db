# Each target does its own set-up: a .venv with the package and its dev extra, and Fashion-MNIST from Debian.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA := /usr/share/datasets/fashion-mnist

.PHONY: report test data browser bench clean

## The main job: train a VAE and a VAE-GAN on Fashion-MNIST on equal terms and write a comparison report.
report: $(VENV)/.installed data
	$(BIN)/python scripts/compare.py $(ARGS)

## The test suite (with Debian's chromium, so the report's page is really rendered).
test: $(VENV)/.installed data browser
	$(BIN)/python -m pytest $(ARGS)

## Training and metric throughput on this machine: one Markdown table (see benchmarks/RESULTS.md).
bench: $(VENV)/.installed data
	$(BIN)/python scripts/dev/benchmark.py $(ARGS)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	$(BIN)/python -m metrics fetch-inception --optional
	$(BIN)/python -m vaegan.data fetch-mnist-subset --optional  # MNIST's 5,000-digit subset, for --dataset mnist
	touch $@

data:
	@if [ ! -e $(DATA)/train-images-idx3-ubyte.gz ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's dataset-fashion-mnist"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist; \
	  else \
	    echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist' (or train with --download)"; exit 1; \
	  fi; \
	fi

browser:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium (the report's browser test)"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	  else \
	    echo "chromium is missing: the report's browser test will be skipped ('sudo apt-get install chromium' runs it)"; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
