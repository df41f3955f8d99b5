# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install lock clean docs

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

# Exactly the versions (and hashes) of requirements.lock, then the project itself without its dependencies.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	@echo "Installing the locked environment into $(VENV) (requirements.lock: boto3, Pulumi, moto, the test tools); the first time downloads ~130 packages and takes a few minutes"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m infra.pins
	touch $(STAMP)

install: $(STAMP)

# Re-resolve requirements.lock from pyproject.toml's ranges (an upgrade is then a reviewed diff of the lock).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
		-o requirements.lock

demo: $(STAMP)
	$(BIN)/pipeline-ctl demo

test: lint
	$(BIN)/python -m pytest -q -n 2

# What .pre-commit-config.yaml runs too. mypy: strict on the packages, bench/ and tools/; the tests are
# type-checked without strict's annotation rules (pyproject.toml [tool.mypy] says which, per module).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy __main__.py infra functions ops local_stack cli tools bench tests

# The transcripts in docs/cli.md, from real runs on a local stack (tests/cli/test_docs.py checks them).
docs: $(STAMP)
	$(BIN)/python -m tools.cli_transcripts

# Every bench module with a main, run as a module from the repository root.
bench: $(STAMP)
	for b in $$(grep -l '^if __name__ == "__main__":' bench/*.py); do \
		m=$$(basename $$b .py); echo "== python -m bench.$$m"; $(BIN)/python -m bench.$$m || exit 1; done

clean:
	rm -rf $(VENV) .pipeline build *.egg-info .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
