# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create the virtualenv in .venv on first use (and refresh it when pyproject changes).

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
CHECKED = src tests examples benchmarks

.PHONY: demo test quick lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

SERVE  ?= 1

demo: $(STAMP)  ## the walkthrough, then the page at http://127.0.0.1:8000 (SERVE=0: walkthrough only)
	$(BIN)/python examples/demo.py $(if $(filter 0,$(SERVE)),,--serve)

test: lint typecheck unit  ## ruff, mypy --strict, the whole pytest suite

lint: $(STAMP)
	$(BIN)/ruff check $(CHECKED)
	$(BIN)/ruff format --check $(CHECKED)

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

quick: $(STAMP)  ## the tests that need no PostgreSQL, S3 server or browser and are not slow
	$(BIN)/pytest -m "not postgres and not s3 and not slow and not browser"

bench: $(STAMP)  ## benchmarks; figures go to the docs/benchmarks*.md pages
	$(BIN)/python benchmarks/peers.py --write docs/benchmarks.md
	$(BIN)/python benchmarks/concurrency_postgres.py --write docs/benchmarks-scale.md
	$(BIN)/python benchmarks/presign_s3.py --write docs/benchmarks-presign.md
	$(BIN)/python benchmarks/reliability.py --write docs/benchmarks-reliability.md
	$(BIN)/python benchmarks/async_capture.py --write docs/benchmarks-async.md
	$(BIN)/python benchmarks/web.py --write docs/benchmarks-web.md
	$(BIN)/python benchmarks/variants.py --write docs/benchmarks-variants.md

clean:
	rm -rf $(VENV) demo-data .pytest_cache .mypy_cache .ruff_cache .hypothesis
