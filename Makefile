# Two entry points, both usable on a fresh clone:
#   make run   - install everything, index the bundled corpus, start the assistant
#   make test  - install everything (browser included), run the whole test suite and eval gates
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HTX := $(VENV)/bin/htx

.PHONY: run test setup setup-test browser serve eval bench clean

$(PY):
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel

setup: $(PY)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e .

setup-test: $(PY)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'

browser:
	bash scripts/install_browser.sh

run: setup
	$(HTX) ingest data/corpus
	$(HTX) serve

test: setup-test browser
	bash scripts/test.sh

eval: setup
	$(HTX) eval retrieval
	$(HTX) eval answers

bench: setup
	$(HTX) bench

clean:
	rm -rf data/index data/feedback.sqlite
