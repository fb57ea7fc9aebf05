# tfsep: `make demo` (set up + separate a real excerpt), `make test` (set up + run the tests).
# Both create .venv if missing.  CPU TensorFlow by default; on a CUDA machine:
#   make TF_PACKAGE='tensorflow[and-cuda]==2.21.0' demo
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TF_PACKAGE ?= tensorflow-cpu==2.21.0
PYTEST_ARGS ?=

.PHONY: install system-deps synth-deps web-deps web demo lint test test-cpu-classes docs bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TF_PACKAGE)" -e ".[test]"
	# TF Serving's client protos; --no-deps: it would pull the CUDA `tensorflow` wheel.
	$(PY) -m pip install -q --no-deps tensorflow-serving-api==2.21.0
	touch $@

install: system-deps $(VENV)/.installed

# ffmpeg reads MP3/M4A/.stem.mp4 and writes MP3/OGG/M4A.  Installed when
# missing and we are root (CI, containers); otherwise we say what to do.
system-deps:
	@command -v ffmpeg >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; \
	  else echo "ffmpeg is missing: install it (e.g. sudo apt-get install ffmpeg, brew install ffmpeg)"; exit 1; fi; }

# FluidSynth + the GM soundfont render the synthetic training songs (`tfsep data synth`).
synth-deps:
	@command -v fluidsynth >/dev/null 2>&1 && [ -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fluidsynth fluid-soundfont-gm >/dev/null; \
	  else echo "install fluidsynth and fluid-soundfont-gm (sudo apt-get install fluidsynth fluid-soundfont-gm)"; exit 1; fi; }

# The in-browser page (mobile/web) and its test: Debian's chromium, and LiteRT.js
# from the npm registry (`npm ci`, pinned by package-lock.json).  Without them
# (not root, no npm) tests/test_web.py skips, unless TFSEP_REQUIRE_BROWSER=1.
WEB := mobile/web
web-deps: $(WEB)/node_modules/.package-lock.json
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is missing (sudo apt-get install chromium): the browser test will skip"; fi; }

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi; }
	@if command -v npm >/dev/null 2>&1; then cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "note: npm is missing (install Node.js): mobile/web has no LiteRT.js, the browser test will skip"; fi

# Serve the page on http://127.0.0.1:8000/ (put exports in mobile/web/models/).
web: web-deps
	$(PYTHON) $(WEB)/serve.py

demo: install
	$(PY) -m tfsep.cli.demo -o demo_output

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: install synth-deps web-deps lint
	$(PY) -m pytest -q $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-cpu-classes

# The tests whose results depend on the CPU (marker cpu_sensitive: precision `auto`, byte identity,
# fast-path parity) once more as each class of CPU this project runs on, whatever this machine is:
# - AVX2 only: oneDNN's and XLA's kernels capped to AVX2, the CPU probe told there is no bfloat16.
#   Tests that force bfloat16 are left out of this pass: with oneDNN capped on a CPU that has
#   AVX512-BF16, TensorFlow still picks oneDNN's bfloat16 kernels, which the cap forbids (a real
#   AVX2 CPU emulates them instead; the second pass runs them there).
# - bfloat16 native: the probe told the CPU has AVX512-BF16, so `auto` picks bfloat16 (emulated,
#   slower, on an AVX2 machine).
test-cpu-classes: install
	ONEDNN_MAX_CPU_ISA=AVX2 XLA_FLAGS=--xla_cpu_max_isa=AVX2 TFSEP_TEST_CPU_FLAGS="sse4_2 avx avx2 fma" \
	  $(PY) -m pytest -q -p no:cacheprovider -m cpu_sensitive -k "not bfloat16 and not cli_precision_option"
	TFSEP_TEST_CPU_FLAGS="sse4_2 avx avx2 fma avx512f avx512_bf16" \
	  $(PY) -m pytest -q -p no:cacheprovider -m cpu_sensitive

# The documentation site in site/ (MkDocs, strict: a broken link or reference fails).  The command
# reference in docs/cli.md is regenerated from the click commands first.
$(VENV)/.docs-installed: $(VENV)/.installed setup.cfg
	$(PY) -m pip install -q -e ".[docs]"
	touch $@

docs: $(VENV)/.docs-installed
	$(PY) -m tfsep.cli.reference docs/cli.md
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

bench: install web-deps
	$(PY) bench/separate_speed.py
	$(PY) bench/vs_spleeter.py
	$(PY) bench/train_speed.py
	$(PY) bench/web_speed.py

clean:
	rm -rf $(VENV) demo_output build site *.egg-info .pytest_cache $(WEB)/node_modules
