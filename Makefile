# Quick start: `make run` (the whole platform on its embedded default) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench bench-tickets bench-scale bench-tickets-scale openapi openapi-lint migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## start every service on SQLite with dev keys and the demo catalogue
	$(BIN)/supportctl up

test: $(STAMP)  ## the whole suite, on SQLite and (when reachable) PostgreSQL
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## both benches on PostgreSQL: entitlement check vs JWT-only, ticket creation vs JWT + INSERT
	$(BIN)/python -m bench.entitlements_check && $(BIN)/python -m bench.tickets_create

bench-tickets: $(STAMP)  ## ticket-creation throughput vs a JWT + one-INSERT FastAPI app, on PostgreSQL
	$(BIN)/python -m bench.tickets_create

bench-scale: $(STAMP)  ## volume on PostgreSQL: billing run over 1k/10k/100k contracts (1 and 2 workers), entitlements reads, tickets
	$(BIN)/python -m bench.scale && $(BIN)/python -m bench.entitlements_scale && $(BIN)/python -m bench.tickets_scale

bench-tickets-scale: $(STAMP)  ## the tickets hot paths over 10k/100k/1M loaded tickets: SLA scan, queue pages, a customer's list
	$(BIN)/python -m bench.tickets_scale

openapi: $(STAMP)  ## regenerate openapi/*.json
	$(BIN)/supportctl openapi

openapi-lint: $(STAMP)  ## lint openapi/*.json with Redocly CLI (pinned in tools/redocly) and redocly.yaml, offline
	npm ci --prefix tools/redocly --no-audit --no-fund --loglevel=error
	$(BIN)/python -m pytest tests/test_openapi_lint.py -q

migrate: $(STAMP)
	$(BIN)/supportctl migrate

clean:
	rm -rf $(VENV) var .pytest_cache tools/redocly/node_modules
