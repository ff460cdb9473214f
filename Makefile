# 公数 Gongshu — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export GONGSHU_DATA_DIR ?= $(CURDIR)/var

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
	GONGSHU_DATA_DIR=$(CURDIR)/var/test GONGSHU_DB_CONN_MAX_AGE=0 $(BIN)/pytest $(PYTEST_ARGS)

bench: install
	GONGSHU_DATA_DIR=$(CURDIR)/var/bench $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
