# The two set-up commands of a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_NOTEBOOK ?= notebooks/01_grad_cam.ipynb
PORT ?= 8888
BENCH_ARGS ?=  # e.g. --quick for a smoke run of every script
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: test test-fast test-jax test-torch demo bench chromium dist docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,demo,docs]"
	rm -f $(VENV)/.installed-* && touch $@

# Debian's chromium for the browser tests (Playwright drives it; it downloads nothing).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The whole suite on TensorFlow, then the backend suite on JAX and on torch: Keras fixes
# its backend at import, so each backend runs in its own pytest process. The TensorFlow
# suite runs in TEST_WORKERS processes, each test file (and notebook) in one of them; one
# more than the 2 cores, since many tests wait on a browser, a kernel or Ray; the lessons
# first, so that the longest files do not start last.
TEST_WORKERS ?= 3
test: $(STAMP) chromium
	$(BIN)/python -m pytest -q --nbval-lax -n $(TEST_WORKERS) --dist loadfile notebooks tests
	$(MAKE) --no-print-directory test-jax test-torch

test-jax: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist load tests/backends

test-torch: $(STAMP)
	KERAS_BACKEND=torch $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist load tests/backends

# The quick loop while coding: every test but those marked slow (the zoo, keras-hub, Ray,
# wheel, demo-server and browser tests, fresh interpreters) and the notebooks, in
# FAST_WORKERS processes, each test file in one of them (about 2 minutes on 2 idle cores:
# 185-255 CPU-seconds in all, measured 2026-12-04).
FAST_WORKERS ?= 2
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -n $(FAST_WORKERS) --dist loadfile tests

# JupyterLab on 127.0.0.1 with a fresh token; prints the URL with the token and the SSH
# tunnel to reach it from another machine.
demo: $(STAMP)
	@BIN=$(BIN) PORT=$(PORT) bash scripts/demo.sh $(DEMO_NOTEBOOK)

# The wheel and the sdist, into dist/ (tests/test_wheel.py installs such a wheel alone).
dist: $(STAMP)
	$(BIN)/python -m build --no-isolation --outdir dist .

# Peers: tf-keras-vis from the extra; Xplique pins an older TensorFlow, so it comes
# without its dependencies plus what its imports need (benchmarks/README.md).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m pip install --quiet --no-deps xplique==2.0.2 tf-keras==2.21.0
	$(BIN)/python -m pip install --quiet deprecated einops opencv-python-headless \
	  scikit-learn scikit-image tensorflow-probability
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# The documentation site, offline, warnings as errors; the lessons run during the build.
# Open docs/_build/html/index.html.
docs: $(STAMP)
	rm -rf docs/_build/html
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
