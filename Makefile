# Tracking Data — the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate demo lint format check-deploy clean track

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

## A local .env for development, so manage.py commands typed by hand work as the README writes them
.env:
	@printf '%s\n' '# Local development, written by make run (every setting: .env.example). Never deploy with it.' 'DJANGO_DEBUG=true' > .env
	@echo "Wrote .env for local development (DJANGO_DEBUG=true)."

migrate: install .env
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(PY) manage.py migrate --noinput

demo: migrate
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(PY) manage.py load_demo_data --base-url http://$(HOST):$(PORT)

## Set everything up on the embedded default (SQLite, demo data) and serve on http://$(HOST):$(PORT)
run: demo
	@echo "Serving on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/) — Ctrl-C stops"
	@export DJANGO_DEBUG=$${DJANGO_DEBUG:-true}; \
	if [ -z "$$CELERY_BROKER_URL" ] && [ "$${CELERY_USE_REDIS_BROKER:-false}" != "true" ]; then \
	  echo "No broker: background jobs run in-process (manage.py track)"; \
	  $(PY) manage.py track & track_pid=$$!; \
	  trap 'kill $$track_pid 2>/dev/null; wait $$track_pid 2>/dev/null' EXIT INT TERM; \
	fi; \
	$(PY) manage.py runserver $(HOST):$(PORT)

## Background jobs in-process (no broker): refresh planning, run expiry, reports, bonuses, callbacks
track: migrate
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(PY) manage.py track

## The whole suite (SQLite by default; DATABASE_URL / REDIS_URL for PostgreSQL and Redis)
test: install
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

format: install
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 var .pytest_cache
