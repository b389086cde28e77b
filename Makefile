# Two commands for a fresh machine (see README):
#   make demo   set up .venv and run the main job on the embedded default
#   make test   set up .venv (with test tools) and run the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
WS ?= demo-workspace

.PHONY: demo test lint venv dev clean fuzz

$(BIN)/closeloop: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev: $(BIN)/closeloop
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/closeloop
dev: $(VENV)/.dev

demo: $(BIN)/closeloop
	rm -rf $(WS)
	$(BIN)/closeloop demo --out $(WS)

test: $(VENV)/.dev
	$(BIN)/python -m pytest -q

# The fuzz suite with its long budget (40x the examples, a 2M-row kill test); CI runs the short one.
fuzz: $(VENV)/.dev
	CLOSELOOP_FUZZ=long $(BIN)/python -m pytest -q tests/fuzz

# ruff, then mypy (the config in pyproject.toml: strict on the core packages)
lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(WS)
