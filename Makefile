# Every target is a thin call into the acams-db CLI (see `acams-db --help`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# Every target takes the environment the same way: env=staging on make's command line, else the ACAMS_ENV
# variable, else acams-db's default (development; preflight: production). ACAMS_VIA_MAKE=1 makes acams-db word
# its hints for make (force=1, name=...) instead of for its own options (--force, NAME).
# Values typed after make reach acams-db as typed: $(call literal,name) is one shell word holding name's value
# unexpanded by make and untouched by the shell (a quote, $, ` or ; in it stays text).
literal = '$(subst ','\'',$(value $(1)))'
CLI = $(if $(value env),ACAMS_ENV=$(call literal,env) )ACAMS_VIA_MAKE=1 $(VENV)/bin/acams-db
PYTEST := $(VENV)/bin/pytest
PYTHON_INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed

.DEFAULT_GOAL := setup

# Flags such as force=1: 1, true or yes (any case) turn one on; 0, false, no or empty leave it off; any other
# value stops make with a usage error (exit 2) before the command runs. $(call flag,force,--force) gives
# --force when force is on, nothing when it is off.
flag = $(if $(call _one_of,$(call _flag_value,$(1)),1 true yes),$(2),$(if $(call _flag_off,$(call _flag_value,$(1))),,\
       $(error $(1)=$(value $(1)): expected 1/true/yes or 0/false/no)))
_flag_value = $(call _lowercase,$(strip $(value $(1))))
_flag_off = $(if $(1),$(call _one_of,$(1),0 false no),off)
# Non-empty when $(1) is exactly one of the words $(2) (compared as text, never as a % pattern).
_one_of = $(if $(filter 1,$(words $(1))),$(filter $(2),$(1)))
# $(call required,name,add_user_timezone) gives $(call literal,name), or stops make with a usage error (exit 2) saying what
# to add, before the command runs.
required = $(if $(strip $(value $(1))),$(call literal,$(1)),$(error $(1)= is needed, e.g. make $@ $(1)=$(2)))
_lowercase = $(subst A,a,$(subst B,b,$(subst C,c,$(subst D,d,$(subst E,e,$(subst F,f,$(subst G,g,$(subst H,h,$(subst \
       I,i,$(subst J,j,$(subst K,k,$(subst L,l,$(subst M,m,$(subst N,n,$(subst O,o,$(subst P,p,$(subst Q,q,$(subst \
       R,r,$(subst S,s,$(subst T,t,$(subst U,u,$(subst V,v,$(subst W,w,$(subst X,x,$(subst Y,y,$(subst Z,z,$(1)))))))))))))))))))))))))))
.PHONY: help setup install migrate deploy status reset resolve generate seed db-stop database studio backup backups restore \
        review lint-migrations migrate-data revert rollback preflight test lint format typecheck check bench clean

## The one command: install, start the embedded database, apply migrations, generate the client, seed.
setup: install
	$(CLI) setup

install: $(PYTHON_INSTALLED) $(NODE_INSTALLED)

# The targets as README.md's "Everyday commands" lists them (one list, kept in step with this file by the tests).
help:
	@$(PYTHON) scripts/make_help.py

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
	$(CLI) migrate $(call required,name,add_user_timezone) $(call flag,create_only,--create-only)

deploy: install
	$(CLI) deploy $(call flag,no_backup,--no-backup)

# GNU make exits 2 whenever a recipe fails (its exit status is only ever 0, 1 or 2), so `make status` cannot
# pass 10-14 on: its last line, "make: *** [Makefile:N: status] Error 13", shows the code. Scripts that need
# it call .venv/bin/acams-db status.
status: install
	$(CLI) status

reset: install
	$(CLI) reset $(call flag,force,--force)

resolve: install
	$(CLI) resolve $(call required,name,20261124_101500_add_user_timezone) \
		--as $(call required,as,rolled-back (or as=applied))

backup: install
	$(CLI) backup $(if $(value label),--label $(call literal,label))

backups: install
	$(CLI) backups

restore: install
	$(CLI) restore $(call required,file,backups/development/20261124_101500_manual.dump) $(call flag,force,--force) $(call flag,allow_production,--allow-production) \
		$(if $(value database),--database $(call literal,database))

generate: install
	$(CLI) generate

seed: install
	$(CLI) seed $(if $(value file),--file $(call literal,file)) $(call flag,prune,--prune) $(call flag,dry_run,--dry-run)

review: install
	$(CLI) review

# Needs no database; part of `make lint`, so of `make check` and CI.
lint-migrations: install
	$(CLI) lint-migrations

migrate-data: install
	$(CLI) migrate-data $(call required,name,backfill_new_field)

revert: install
	$(CLI) revert $(call required,name,add_user_timezone)

rollback: install
	$(CLI) rollback $(call flag,force,--force) $(call flag,dry_run,--dry-run)

# The checklist before a deploy: of production unless env= or ACAMS_ENV names another environment.
preflight: install
	$(CLI) preflight

database: install
	$(CLI) database

db-stop: install
	$(CLI) db-stop

# Prisma Studio on 127.0.0.1 until Ctrl+C; read-only outside development.
studio: install
	$(CLI) studio $(if $(value port),--port $(call literal,port)) $(call flag,read_only,--read-only)

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
	$(VENV)/bin/python bench/run.py $(call flag,quick,--quick)
	$(VENV)/bin/python bench/seed_bench.py $(call flag,quick,--quick)
	$(VENV)/bin/python bench/status_bench.py $(call flag,quick,--quick)

clean:
	rm -rf $(VENV) node_modules
