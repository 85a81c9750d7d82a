# coopledger — the two commands: `make demo` and `make test`.
# Each creates .venv if it is missing and installs what it needs into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" ./scripts/demo.sh

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# mypy cannot follow setuptools' editable-install finder, so it reads the packages
# through a tree of symlinks that spells the installed names (coopledger.crypto, …).
typecheck: $(STAMP)
	@mkdir -p .typecheck/coopledger
	@for p in crypto protocol node cli; do ln -sfn ../../$$p .typecheck/coopledger/$$p; done
	@ln -sfn ../../coopledger/__init__.py .typecheck/coopledger/__init__.py
	MYPYPATH=.typecheck $(BIN)/mypy -p coopledger

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/sync.py

clean:
	rm -rf $(VENV) .typecheck .pytest_cache .mypy_cache .ruff_cache .hypothesis
