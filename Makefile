# The two commands: `make run` serves the demo, `make test` runs the whole suite.
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2

.PHONY: setup run test bench clean

setup:
	@bash scripts/setup.sh

run: setup
	$(BIN)/forms-service init-db
	$(BIN)/forms-service demo
	$(BIN)/forms-service ensure-demo-users
	@# gunicorn and, beside it, the worker (outbox, seals, daily retention); see scripts/run.sh
	BIN=$(BIN) HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS) bash scripts/run.sh

# The whole suite on SQLite and on a PostgreSQL server the run starts and stops itself, with
# the real OpenID provider of tests/oidc (a missing one fails the run instead of skipping).
test: setup
	FORMS_SERVICE_REQUIRE_PG=1 FORMS_SERVICE_REQUIRE_OIDC=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/registry_bench.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/signers.py

clean:
	rm -rf $(VENV) instance .pytest_cache
