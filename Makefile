# tfsep: `make demo` (set up + separate a real excerpt), `make test` (set up + run the tests).
# Both create .venv if missing.  CPU TensorFlow by default; on a CUDA machine:
#   make TF_PACKAGE='tensorflow[and-cuda]==2.21.0' demo
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TF_PACKAGE ?= tensorflow-cpu==2.21.0
PYTEST_ARGS ?=

.PHONY: install system-deps synth-deps demo lint test bench clean

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

demo: install
	$(PY) -m tfsep.cli.demo -o demo_output

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: install synth-deps lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: install
	$(PY) bench/separate_speed.py
	$(PY) bench/vs_spleeter.py
	$(PY) bench/train_speed.py

clean:
	rm -rf $(VENV) demo_output build *.egg-info .pytest_cache
