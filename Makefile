# `make demo`: the app on its embedded default (SQLite, eager Celery) with sample data.
# `make test`: the whole suite, on SQLite and on MySQL/MariaDB.
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MYSQL_TEST_URL ?= mysql://root:@127.0.0.1:3306/test
SAMPLE := data/sample_invoices.csv

.PHONY: demo test test-sqlite test-mysql install lint bench

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

demo: install
	DJANGO_DEBUG=true $(BIN)/python manage.py migrate --no-input -v0
	@ls data/*.csv data/*.xlsx 2>/dev/null | grep -q . || \
		DJANGO_DEBUG=true $(BIN)/python manage.py generate_invoices --rows 10000 --seed 1 --out $(SAMPLE)
	DJANGO_DEBUG=true $(BIN)/python manage.py load_invoices data/ || true
	DJANGO_DEBUG=true $(BIN)/python manage.py demo_admin
	DJANGO_DEBUG=true $(BIN)/python manage.py runserver 127.0.0.1:8000

test: install test-sqlite test-mysql

test-sqlite: install
	$(BIN)/pytest -q

test-mysql: install
	DATABASE_URL=$(MYSQL_TEST_URL) $(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/ingest.py --rows 1000000 --runs 3
