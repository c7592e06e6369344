# Every target is a thin call into the acams-db CLI (see `acams-db --help`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CLI := $(VENV)/bin/acams-db
PYTEST := $(VENV)/bin/pytest
PYTHON_INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed

.DEFAULT_GOAL := setup
.PHONY: setup install migrate deploy status reset resolve generate seed db-stop database studio backup backups restore \
        review lint-migrations migrate-data revert rollback preflight test lint format typecheck check bench clean

## The one command: install, start the embedded database, apply migrations, generate the client, seed.
setup: install
	$(CLI) setup

install: $(PYTHON_INSTALLED) $(NODE_INSTALLED)

# Re-run only when the pinned dependencies change. compileall: bytecode for our own (editable) package, which
# pip leaves as source, for where Python may not write it (PYTHONDONTWRITEBYTECODE).
$(PYTHON_INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(VENV)/bin/python -m compileall -q acams_db
	touch $@

# --ignore-scripts: @prisma/engines' postinstall would try to download native engines.
$(NODE_INSTALLED): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

migrate: install
	$(CLI) migrate "$(name)" $(if $(create_only),--create-only)

deploy: install
	$(CLI) deploy $(if $(no_backup),--no-backup)

status: install
	$(CLI) status

reset: install
	$(CLI) reset $(if $(force),--force)

resolve: install
	$(CLI) resolve "$(name)" --as "$(as)"

backup: install
	$(CLI) backup $(if $(label),--label "$(label)")

backups: install
	$(CLI) backups

restore: install
	$(CLI) restore "$(file)" $(if $(force),--force) $(if $(allow_production),--allow-production) \
		$(if $(database),--database "$(database)")

generate: install
	$(CLI) generate

seed: install
	$(CLI) seed $(if $(file),--file "$(file)") $(if $(prune),--prune) $(if $(dry_run),--dry-run)

review: install
	$(CLI) review

# Needs no database; part of `make lint`, so of `make check` and CI.
lint-migrations: install
	$(CLI) lint-migrations

migrate-data: install
	$(CLI) migrate-data "$(name)"

revert: install
	$(CLI) revert "$(name)"

rollback: install
	$(CLI) rollback $(if $(force),--force) $(if $(dry_run),--dry-run)

# The checklist before a deploy; production unless env=staging.
preflight: install
	$(CLI) preflight --env "$(or $(env),production)"

database: install
	$(CLI) database

db-stop: install
	$(CLI) db-stop

# Prisma Studio on 127.0.0.1 until Ctrl+C; read-only outside development.
studio: install
	$(CLI) studio $(if $(port),--port $(port)) $(if $(read_only),--read-only)

test: install
	$(PYTEST) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check acams_db tests scripts bench
	$(VENV)/bin/ruff format --check acams_db tests scripts bench
	$(CLI) lint-migrations

format: install
	$(VENV)/bin/ruff format acams_db tests scripts bench
	$(VENV)/bin/ruff check --fix acams_db tests scripts bench

typecheck: install
	$(VENV)/bin/mypy

check: lint typecheck test

bench: install
	$(VENV)/bin/python bench/run.py $(if $(quick),--quick)
	$(VENV)/bin/python bench/seed_bench.py $(if $(quick),--quick)

clean:
	rm -rf $(VENV) node_modules
