# `make demo`: the app on its embedded default (SQLite, eager Celery) with sample data.
# `make test`: the whole suite, on SQLite and on MySQL/MariaDB; `make test-fast`: the edit-run loop.
# Both start with `make install`: scripts/bootstrap (system packages), then the virtualenv.
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
DEMO_DATA ?= data/
MYSQL_TEST_URL ?= mysql://root:@127.0.0.1:3306/test
SAMPLE := data/sample_invoices.csv
DEMO_STATIC := DJANGO_STATIC_MANIFEST=true
STATIC_MANIFEST := staticfiles/staticfiles.json

.PHONY: demo test test-sqlite test-mysql test-fast install browser check lint format hooks smoke screenshots bench

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt scripts/system-packages.txt
	scripts/bootstrap build
	test -x $(BIN)/python || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q --upgrade pip; }
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# Local development settings, written once and never overwritten (see docs/configuration.md).
.env: | install
	@echo "writing .env: DJANGO_DEBUG=true, a generated DJANGO_SECRET_KEY, SQLite"
	@{ echo "# Local development settings written by 'make demo'; it never overwrites this file."; \
	  echo "# Edit or delete it freely; .env.example lists every variable (and production values)."; \
	  echo "DJANGO_DEBUG=true"; \
	  echo "DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
	  echo "# Neither DATABASE_URL nor DB_HOST: SQLite at var/dev.sqlite3."; \
	  echo "DATABASE_URL="; \
	  echo "DB_HOST="; } > $@

demo: install .env $(STATIC_MANIFEST)
	$(BIN)/python manage.py migrate --no-input -v0
	@ls data/*.csv data/*.xlsx 2>/dev/null | grep -q . || \
		$(BIN)/python manage.py generate_invoices --rows 10000 --seed 1 --out $(SAMPLE)
	$(BIN)/python manage.py load_invoices $(DEMO_DATA) || true
	$(BIN)/python manage.py demo_admin
	$(DEMO_STATIC) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The demo serves static files as production does: hashed names, brotli/gzip, cached for ever
# (collected into the git-ignored staticfiles/, again only when a static file or the venv changed).
$(STATIC_MANIFEST): $(VENV)/.installed $(shell find */static -type f 2>/dev/null) | .env
	$(DEMO_STATIC) $(BIN)/python manage.py collectstatic --no-input -v0

# The tiers (docs/development.md): the SQLite pass runs every test once; the MySQL/MariaDB pass
# runs again the tests that touch the database, browser and vendor-neutral tests aside. Both run
# on TEST_WORKERS xdist workers, each on its own test database and Redis keys, taking the tests
# in the root conftest.py's order (long ones first; a module's group as one). PYTEST_ARGS narrows a run
# (`make test-fast PYTEST_ARGS=ingestion/tests/test_clean.py`). In the passes that select by
# mark, exit status 5 (no test selected) is not a failure; in the SQLite pass (everything) it is.
TEST_WORKERS ?= auto
PYTEST_ARGS ?=
PYTEST := $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder
NO_TESTS_OK := || [ $$? -eq 5 ]

test: install browser test-sqlite test-mysql

# Chromium for the browser tests (installed when possible; they are skipped without it).
browser:
	scripts/bootstrap browser

test-sqlite: install
	$(PYTEST) $(PYTEST_ARGS)

test-mysql: install
	DATABASE_URL=$(MYSQL_TEST_URL) $(PYTEST) -m "database and not browser and not vendor_neutral" $(PYTEST_ARGS) $(NO_TESTS_OK)

# Under two minutes: no slow test, no browser, no Celery worker process.
test-fast: install
	$(PYTEST) -m "not slow and not browser and not process" $(PYTEST_ARGS) $(NO_TESTS_OK)

# Lint, formatting and types (the rule sets and mypy's files are in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# What CI checks besides the tests: lint, formatting, types, and models that match their migrations.
# The pre-commit hook (`make hooks`) runs the same target before every commit.
check: lint
	DJANGO_SETTINGS_MODULE=config.test_settings $(BIN)/python manage.py makemigrations --check --dry-run

# Apply ruff's safe fixes and formatting to the whole tree.
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

hooks: install
	$(BIN)/pre-commit install

# A fresh clone's `make demo` on a free port: dashboard and admin answer, the demo admin logs in.
smoke: install
	$(BIN)/python scripts/smoke.py

# Refresh the screenshots in docs/ (tests otherwise write to a temporary folder).
screenshots: install browser
	SCREENSHOT_DIR=$(CURDIR)/docs $(BIN)/pytest -q -m browser

bench: install
	$(BIN)/python bench/ingest.py --rows 1000000 --runs 3
