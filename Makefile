# Two commands set everything up on a fresh machine:
#   make app    start the Streamlit app (creates .venv on first use)
#   make test   run the whole test suite, browser tests included
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.PHONY: app test bench bench-full clean-venv

$(VENV)/.runtime-installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

app: $(VENV)/.runtime-installed
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.dev-installed
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || sh scripts/install-chromium.sh || \
		echo "Chromium is not installed: the browser tests will be skipped."
	$(PY) -m pytest -q

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/run.py --quick

bench-full: $(VENV)/.dev-installed
	$(PY) benchmarks/run.py --full

clean-venv:
	rm -rf $(VENV)
