# Everything runs from a virtual environment built from the committed lock file
# (uv.lock). uv itself is pinned with hashes in requirements/uv.txt.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test lint typecheck pytest migrate demo bench clean

$(UV): requirements/uv.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes -r requirements/uv.txt
	touch $@

$(BIN)/.runtime: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --no-dev --python $(PYTHON)
	touch $@

$(BIN)/.dev: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	touch $@ $(BIN)/.runtime

## Serve on $(HOST):$(PORT) with the SQLite database under var/.
run: $(BIN)/.runtime
	PINWATCH_ENV=$${PINWATCH_ENV:-development} $(BIN)/pinwatch migrate
	PINWATCH_ENV=$${PINWATCH_ENV:-development} $(BIN)/pinwatch serve --host $(HOST) --port $(PORT)

migrate: $(BIN)/.runtime
	PINWATCH_ENV=$${PINWATCH_ENV:-development} $(BIN)/pinwatch migrate

## Lint, type-check and run the whole test suite.
test: lint typecheck pytest

lint: $(BIN)/.dev
	$(BIN)/ruff check service tests migrations benchmarks
	$(BIN)/ruff format --check service tests migrations benchmarks

typecheck: $(BIN)/.dev
	$(BIN)/mypy

pytest: $(BIN)/.dev
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

## Start a server on a fresh SQLite database and simulate a fleet rotating keys.
demo: $(BIN)/.runtime
	$(BIN)/python -m service.simulate.demo

## Measure throughput and latency beside a bare FastAPI endpoint and write
## docs/benchmarks.md; options go in BENCH_ARGS, e.g. BENCH_ARGS="--soak 600".
bench: $(BIN)/.dev
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(TOOLS) $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
