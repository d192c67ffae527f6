# doorcam: `make demo` runs the simulation, `make test` runs the checks and tests.
# Everything installs into ./.venv; system packages come from apt when missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.doorcam-installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export DOORCAM_TEST_DATA ?= $(abspath ../shared/data)

.PHONY: demo test lint unit bench system-deps venv clean install uninstall deb check-arm64

# The whole story: motion and clips, then an agency request, the owner's decision and the
# verified upload, all on loopback (working files in ./.demo).
demo: $(STAMP) system-deps
	$(BIN)/doorcam demo --dir .demo

test: $(STAMP) system-deps lint unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@# Dead code, high confidence only; the names ignored are parameters that paho's
	@# callbacks, __exit__ and picamera2's Output must accept.
	$(BIN)/vulture common config capture motion uplink device bench --min-confidence 80 \
		--ignore-names userdata,properties,exc_type,encoder_stream

# The suite on every core (pytest-xdist; TEST_WORKERS=0 runs it in one process). Caches
# shared between workers (Debian trees, builds) are built under a file lock; xdist_group
# marks keep tests sharing one on one worker (not on pytest 9.2: pytest-xdist issue 1386).
TEST_WORKERS ?= auto
unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

bench: $(STAMP)
	@mkdir -p bench-results
	$(BIN)/python bench/run_all.py --out bench-results

venv: $(STAMP)

# python3-venv is separate on Debian/Ubuntu/Raspberry Pi OS; install it if venv fails.
$(STAMP): setup.py
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	    echo "installing python3-venv (apt)"; \
	    $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q python3-venv && \
	    rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# Services the tests start themselves (a private mosquitto per test).
system-deps:
	@command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || { \
	    echo "installing mosquitto (apt)"; \
	    $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q mosquitto; }

# On the Pi (as root): system packages, the `doorcam` user, /opt/doorcam/venv, the config
# in /etc/doorcam (kept if present) and the systemd unit, enabled and started.
install:
	deploy/install.sh

uninstall:
	deploy/install.sh --uninstall

# An architecture-independent Debian package using Debian's python3 packages.
deb:
	deploy/build-deb.sh dist

# The package installed by apt into an arm64 trixie tree (debootstrap + qemu-user-static, as
# root) and run there: CLI, config check, a short simulation whose clip must decode.
check-arm64:
	deploy/check-arm64.sh

clean:
	rm -rf $(VENV) .demo bench-results build dist *.egg-info
