# The README's two commands: `make demo` and `make test`.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STORE_PORT ?= 8001
RECEIVER_PORT ?= 8002
PYTEST_ARGS ?=

.PHONY: demo test lint install install-test bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Install, build the SQLite database from the migrations, start a receiver of outbound webhooks (RECEIVER_PORT),
## load the demo program (its events go to the receiver), serve it (HOST, PORT: where) beside the demo store with
## the rewards widget (STORE_PORT). `loyalty serve` runs its own worker, which processes the store's webhooks and
## sends what happens next to the receiver. The receiver and the store run in the background, stopped with the
## platform. The demo's receiver is on this machine, so the demo's processes may call private addresses
## (LOYALTY_OUTBOUND_ALLOW_PRIVATE, which serve's worker inherits); a real install may not.
demo: install
	$(BIN)/loyalty db upgrade
	$(BIN)/loyalty demo-receiver --bind $(HOST):$(RECEIVER_PORT) --program demo & \
	receiver=$$!; trap 'kill $$receiver $$store 2>/dev/null' EXIT INT TERM; \
	$(BIN)/loyalty demo --url http://$(HOST):$(PORT) --store-url http://$(HOST):$(STORE_PORT) \
		--receiver-url http://$(HOST):$(RECEIVER_PORT) && \
	{ $(BIN)/loyalty demo-store --bind $(HOST):$(STORE_PORT) --platform http://$(HOST):$(PORT) --program demo & \
	store=$$!; LOYALTY_OUTBOUND_ALLOW_PRIVATE=true LOYALTY_PUBLIC_URL=http://$(HOST):$(PORT) \
		$(BIN)/loyalty serve --bind $(HOST):$(PORT); }

## Install the test dependencies and run the whole suite (TEST_DATABASE_URL selects PostgreSQL).
test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

## The linter, the formatter's check and the layers contract (pyproject.toml's [tool.ruff] and [tool.importlinter]).
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## The ledger benchmark (see docs/benchmarks.md).
bench: install
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
