# cerepro: the two commands of the README are `make run` and `make test`; both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-all bench all-experiments paper-experiments quick-experiments explain clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install  ## Table 1 (embedded Reber grammar) at paper scale, faithful rows, re-run (not read from the ledger)
	$(BIN)/cerepro run reber --fresh

# The suite runs in one process per core, up to 4 (pytest-xdist): most of its time is numba compiling kernels
# into a fresh checkout's cache, which the processes share.
PYTEST := $(BIN)/pytest -q -n auto --maxprocesses 4

test: install  ## the suite without the tests marked slow (pyproject.toml: addopts)
	$(PYTEST)

test-all: install  ## every test, the slow ones too (the installed wheel, the committed trials re-computed: about a minute more)
	$(PYTEST) -m ""

bench: install  ## time-steps per second of each kernel and of its numpy reference
	$(BIN)/cerepro bench

# Both experiment targets resume: the ledger skips finished trials, so re-running after Ctrl-C loses little.
# RUN_ARGS is passed to every run, e.g. RUN_ARGS="--executor dask --scheduler tcp://host:8786" (README).
EXPERIMENTS := exp1 exp2a exp2b exp2c exp3a exp3b exp3c exp4 exp5 exp6a exp6b xor cerg error-flow
RUN_ARGS ?=
# Smoke scale: every row, variant and baseline trains and is tabled (labelled "reduced"); 2 trials, 3,000 sequences,
QUICK := --trials 2 --max-sequences 3000
# except Table 1, whose trials are cheap: at 20,000 sequences its lr-0.5 rows succeed (paper mean: 8,440)
QUICK_exp1 := --trials 2 --max-sequences 20000
QUICK_OUT ?= results/quick
define newline


endef

all-experiments: install  ## every experiment, all rows, variants and baselines, paper scale (days on 2 cores)
	$(foreach e,$(EXPERIMENTS),$(BIN)/cerepro run $(e) --variants all --baselines $(RUN_ARGS)$(newline))
	$(BIN)/cerepro report

paper-experiments: install  ## every experiment's paper rows and baselines at paper scale, no variants (resumes)
	$(foreach e,$(EXPERIMENTS),$(BIN)/cerepro run $(e) --baselines $(RUN_ARGS)$(newline))
	$(BIN)/cerepro report

quick-experiments: install  ## every experiment at a labelled reduced scale into $(QUICK_OUT) (~6 min on 2 cores)
	$(foreach e,$(EXPERIMENTS),$(BIN)/cerepro run $(e) --variants all --baselines $(or $(QUICK_$(e)),$(QUICK)) --out $(QUICK_OUT) $(RUN_ARGS)$(newline))
	$(BIN)/cerepro report --out $(QUICK_OUT)

explain: install  ## every hypothesis on every 1997 LSTM row at screening scale -> results/HYPOTHESES.md (resumes)
	$(BIN)/cerepro explain $(RUN_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
