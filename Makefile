# ferric: `make demo` then `make test` on a fresh machine. The venv is made on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO_OUT ?= data/demo

.PHONY: venv demo test test-crates lint bench clean

# torch first, pinned: it takes the local CPU wheel; a looser requirement would pull GBs of CUDA.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m dataset_builder --repo demo --out $(DEMO_OUT)
	@echo "dataset: $(DEMO_OUT)/ (report: $(DEMO_OUT)/report.md)"

test-crates:
	./scripts/install-test-crates.sh

test: $(STAMP) test-crates
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy dataset_builder

# Benchmarks print figures; they are never timed tests. BENCH_REPO: a local Rust git repository.
BENCH_REPO ?= demo
bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/mine.py --repo $(BENCH_REPO)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
