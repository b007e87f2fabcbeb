# The two commands of the README's quick start:
#   make run    set up a virtual environment, create ./data/mailintake.db and config.toml,
#               and run the daemon (SMTP on 127.0.0.1:2525) until Ctrl-C
#   make test   set up everything the tests need and run them (what .ci/run does)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test setup setup-test lint bench clean

run: setup config.toml
	$(BIN)/mailintake init
	$(BIN)/mailintake serve

test: setup-test
	.ci/system-packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

config.toml:
	cp config.example.toml config.toml

lint: setup-test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup-test
	$(BIN)/python bench/smtp_intake.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
