# coopledger — the two commands: `make demo` and `make test`.
# Each creates .venv if it is missing and installs what it needs into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean system-tools

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

# One worker per core; each test file on one worker, and the tests on real sockets and
# daemons on one worker in turn (tests/conftest.py). PYTEST_WORKERS=0 runs serially.
PYTEST_WORKERS ?= auto

pytest: $(STAMP) system-tools
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

# Programs some tests drive that pip cannot install: zbarimg reads the posting's QR code
# as a phone would. Installed with apt when missing and we are root; the test fails
# (never skips) without it.
system-tools:
	@command -v zbarimg >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get install -y -qq zbar-tools >/dev/null 2>&1 \
	      || (apt-get update -qq >/dev/null && apt-get install -y -qq zbar-tools >/dev/null)); } \
	  || echo "note: zbarimg is missing (apt-get install zbar-tools); the QR test will fail"

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/economy.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/sync.py

clean:
	rm -rf $(VENV) .typecheck .pytest_cache .mypy_cache .ruff_cache .hypothesis
