# cerepro: the two commands of the README are `make run` and `make test`; both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-all bench all-experiments quick-experiments clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install  ## Table 1 (embedded Reber grammar) at paper scale, faithful rows, re-run (not read from the ledger)
	$(BIN)/cerepro run reber --fresh

test: install  ## the default suite (paper-scale runs are marked slow and left out)
	$(BIN)/pytest -q

test-all: install  ## including the slow tests
	$(BIN)/pytest -q -m ""

bench: install  ## time-steps per second of each kernel and of its numpy reference
	$(BIN)/cerepro bench

all-experiments: install  ## every experiment, all rows and variants, paper scale
	$(BIN)/cerepro run exp1 --variants all

quick-experiments: install  ## every experiment at a labelled reduced scale (smoke check)
	$(BIN)/cerepro run exp1 --trials 3 --max-sequences 5000 --out results/quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
