# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# An existing .venv holding Pulumi packages outside pyproject.toml's pins (made before a pin moved) is
# reinstalled; if pip cannot bring them in range, the install fails naming each package.
ifneq ($(wildcard $(STAMP)),)
ifneq ($(shell $(BIN)/python -m infra.pins >/dev/null 2>&1 && echo ok),ok)
$(info .venv has Pulumi packages outside pyproject.toml's pins: reinstalling)
$(shell rm -f $(STAMP))
endif
endif

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m infra.pins
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pipeline-ctl demo

test: lint
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy __main__.py infra functions ops local_stack cli

# The transcripts in docs/cli.md, from real runs on a local stack (tests/cli/test_docs.py checks them).
docs: $(STAMP)
	$(BIN)/python -m tools.cli_transcripts

bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pipeline build *.egg-info .pytest_cache .ruff_cache .mypy_cache
