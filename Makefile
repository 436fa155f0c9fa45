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
	# An editable install leaves the packages uncompiled (pip compiles a regular one): where
	# PYTHONDONTWRITEBYTECODE is set, every run would compile them again (55 ms a start).
	$(PY) -m compileall -q dataset_builder tokenizer training analysis > /dev/null
	touch $(STAMP)

venv: $(STAMP)

# The whole method on the embedded demo repository: dataset -> tokenizer -> training ->
# compile rate -> executed audit notebooks.
demo: $(STAMP)
	$(PY) -m dataset_builder --repo demo --out $(DEMO_OUT)
	$(PY) -m tokenizer train --data $(DEMO_OUT) --add 2048 --out tok/demo --quiet
	$(PY) -m tokenizer eval --tokenizer tok/demo --data $(DEMO_OUT) --quiet
	$(PY) -m training --config configs/training/tiny-cpu.yaml data.data_dir=$(DEMO_OUT) \
		data.tokenizer=tok/demo train.output_dir=runs/demo --quiet
	$(PY) -m analysis compile-rate --data $(DEMO_OUT) --out reports/demo --baseline oracle \
		--baseline todo --baseline mutate --model runs/demo/model --name tiny-cpu \
		--max-new-tokens 256 --quiet
	$(PY) audits/run_audits.py --demo $(DEMO_OUT) --tokenizer tok/demo --run runs/demo \
		--compile-rate reports/demo --out reports/audits
	@echo "reports: $(DEMO_OUT)/report.md  tok/demo/fertility.md  runs/demo/report.md" \
		" reports/demo/report.md  reports/audits/"

test-crates:
	./scripts/install-test-crates.sh

# DeepSpeed (optional extra) for the CPU smoke test; its build imports torch, hence no build
# isolation. If it cannot be installed the test skips with the reason.
DS_STAMP := $(VENV)/.deepspeed-stamp
$(DS_STAMP): $(STAMP)
	$(PY) -m pip install -q --no-build-isolation 'deepspeed>=0.15' \
		|| echo "note: deepspeed could not be installed; its smoke test will skip" >&2
	touch $(DS_STAMP)

test: $(STAMP) $(DS_STAMP) test-crates
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy dataset_builder tokenizer training analysis tests bench

# Benchmarks print figures; they are never timed tests. BENCH_REPO: a local Rust git repository.
BENCH_REPO ?= demo
bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/mine.py --repo $(BENCH_REPO)
	$(PY) bench/compile.py --data $(DEMO_OUT)

clean:
	rm -rf $(VENV) data tok runs reports .pytest_cache .mypy_cache .ruff_cache
