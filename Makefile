# The commands a new user needs. `make demo` to try it, `make test` to check it.
# The venv's Python must be 3.11 (pyproject's requires-python): python3.11 when it is on PATH,
# else python3 when that is 3.11; empty otherwise, and creating the venv stops with a message.
# `make PY=/path/to/python3.11 demo` chooses another.
PY ?= $(shell command -v python3.11 2>/dev/null || \
	{ python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && echo python3; })
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: demo test lint bench messages run worker worker-default worker-sending worker-stock \
	worker-ingest beat clean

$(BIN)/python:
	@[ -n "$(PY)" ] || { echo "make: this project needs Python 3.11: no python3.11 on PATH, and" \
		"python3 is $$(python3 --version 2>/dev/null || echo missing). Install Python 3.11," \
		"or give its path: make PY=/path/to/python3.11 ..." >&2; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# A venv made before with another Python: say so, rather than let pip fail on requires-python.
CHECK_VENV = @$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	{ echo "make: $(VENV) has $$($(BIN)/python --version); remove it (rm -rf $(VENV))" \
		"and run make again." >&2; exit 1; }

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(CHECK_VENV)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(CHECK_VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: install, migrate, load demo data (first time only), serve on http://127.0.0.1:8000
demo: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo --size small --if-empty
	@echo "Open http://127.0.0.1:8000/ and log in with a login printed above."
	$(BIN)/python manage.py runserver 127.0.0.1:8000

## test: the whole suite; on PostgreSQL when DATABASE_URL is set, else SQLite
test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

## bench: every benchmark in bench/, printing figure, target and comparison
bench: $(VENV)/.installed-dev
	@status=0; for script in bench/[!_]*.py; do echo "== $$script"; \
		$(BIN)/python $$script || status=1; done; \
		[ $$status -eq 0 ] || echo "some benchmark missed a target or failed (see MISS lines)"; exit $$status

## messages: refresh and compile the translations in locale/
messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages -l fa -l ar -l az -l be --no-obsolete --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*'
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

run: $(VENV)/.installed
	$(BIN)/python manage.py runserver 127.0.0.1:8000

## worker: one worker consuming every queue (default, sending, stock, ingest)
worker: $(VENV)/.installed
	$(BIN)/celery -A config worker -Q default,sending,stock,ingest --loglevel=INFO

# A worker per workload, so none waits behind another: `make worker-sending CONCURRENCY=8`.
CONCURRENCY ?= 4
worker-default worker-sending worker-stock worker-ingest: $(VENV)/.installed
	$(BIN)/celery -A config worker -Q $(@:worker-%=%) -c $(CONCURRENCY) -n $(@:worker-%=%)@%h --loglevel=INFO

beat: $(VENV)/.installed
	$(BIN)/celery -A config beat --loglevel=INFO

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles celerybeat-schedule*
