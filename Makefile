# 公数 Gongshu — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export GONGSHU_DATA_DIR ?= $(CURDIR)/var
# The suite runs on this many processes (pytest-xdist), each with its own test database and data directory.
TEST_WORKERS ?= 2

# Python writes its bytecode caches (and pytest its rewritten test modules): a machine that sets
# PYTHONDONTWRITEBYTECODE would compile every module again in each worker and each child process.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/gongshu migrate
	$(BIN)/gongshu demo load
	$(BIN)/gongshu serve

test: install
	$(BIN)/lint-imports --no-cache
	GONGSHU_DATA_DIR=$(CURDIR)/var/test GONGSHU_DB_CONN_MAX_AGE=0 $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

bench: install
	GONGSHU_DATA_DIR=$(CURDIR)/var/bench $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
