# tfsep: `make demo` (set up + separate a real excerpt), `make test` (set up + run the tests).
# Both create .venv if missing.  CPU TensorFlow by default; on a CUDA machine:
#   make TF_PACKAGE='tensorflow[and-cuda]==2.21.0' demo
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TF_PACKAGE ?= tensorflow-cpu==2.21.0
PYTEST_ARGS ?=

.PHONY: install system-deps demo test bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TF_PACKAGE)" -e ".[test]"
	touch $@

install: system-deps $(VENV)/.installed

# ffmpeg reads MP3/M4A/.stem.mp4 and writes MP3/OGG/M4A.  Installed when
# missing and we are root (CI, containers); otherwise we say what to do.
system-deps:
	@command -v ffmpeg >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; \
	  else echo "ffmpeg is missing: install it (e.g. sudo apt-get install ffmpeg, brew install ffmpeg)"; exit 1; fi; }

demo: install
	$(PY) -m tfsep.demo -o demo_output

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: install
	$(PY) bench/separate_speed.py
	$(PY) bench/vs_spleeter.py

clean:
	rm -rf $(VENV) demo_output build *.egg-info .pytest_cache
