# One place for the set-up steps, so the README commands and CI stay the same.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo demo-cli test lint bench sample-data

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the pinned CPU wheel first: an unpinned torch would pull several GB of CUDA packages
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/streamlit run app.py --server.address 127.0.0.1 --server.port 8501

demo-cli: setup
	$(VENV)/bin/tabsynth synthesize sample_data/patients.csv --method gaussian-copula \
		--target readmitted --seed 1 --out out/demo

lint: setup
	$(VENV)/bin/ruff check .

# the tests marked `ray` run apart, beside a local Ray head when Ray is installed
# (pip install -e ".[ray]"); without it they skip, and nothing else needs Ray
test: setup lint
	$(PY) -m pytest -q -m "not ray"
	scripts/with_ray_head.sh $(PY) -m pytest -q -m ray

bench: setup
	$(PY) benchmarks/bench_synthesizers.py

sample-data: setup
	$(PY) scripts/make_sample_data.py
