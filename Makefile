# The commands a new user needs. `make demo` to try it, `make test` to check it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: demo test lint bench messages run worker beat clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
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

worker: $(VENV)/.installed
	$(BIN)/celery -A config worker --loglevel=INFO

beat: $(VENV)/.installed
	$(BIN)/celery -A config beat --loglevel=INFO

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles celerybeat-schedule*
