# Two entry points (README): `make run` runs the main pipeline on a built-in default, `make test` the tests.
# Both create (or reuse) a virtual environment in .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch; override (e.g. TORCH_SPEC="torch") on a machine with a GPU.
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.amphys-installed

.PHONY: run test lint bench-quick torchcfm clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/amphys run

test: $(STAMP)
	$(VENV)/bin/lint-imports
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n 2 -q

# The published OT-CFM package, an optional peer of the snapshots benchmark. Its requirements would pull a CUDA
# build of torch and packages it does not import here, so it is installed without them (it imports torch, numpy,
# scipy and POT, which amphys already has).
torchcfm: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps "torchcfm==1.0.7"

lint: $(STAMP)
	$(VENV)/bin/ruff check amphys tests benchmarks docs

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
