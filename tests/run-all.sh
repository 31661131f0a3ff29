#!/bin/bash
# Every test of husk: installs what is missing, builds, runs the doctest unit tests, the pytest
# integration tests (real containers, as root) and the packaging tests (man pages, completion,
# meson install, the .deb build), then husk's unit tests and the cgroup v2 and systemd
# integration tests again inside a Debian 12 VM (tests/modern-host/), and ends with
# "N passed, M failed".
set -u -o pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
elif [ ! -d build/tests/unit ]; then
  # Configured before doctest was installed (install-deps.sh --build-only): find it now.
  meson setup --reconfigure build >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C build || { echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
. tests/counts.sh
if [ "${HUSK_MODERN_HOST:-}" != only ]; then
  count_unit_tests build/tests/unit

  echo "== integration and packaging"
  log=$(mktemp)
  /usr/bin/python3 -m pytest -p no:cacheprovider -q -rs integration tests/packaging "$@" 2>&1 | tee "$log"
  count_pytest_log "$log"
  rm -f "$log"
fi

# The modern host: a Debian 12 VM with systemd as PID 1 and pure cgroup v2 (tests/modern-host/).
# HUSK_QUICK=1 or HUSK_MODERN_HOST=0 leave it out; HUSK_MODERN_HOST=only runs it alone.
if [ "${HUSK_MODERN_HOST:-}" = only ] || { [ "${HUSK_QUICK:-0}" != 1 ] && [ "${HUSK_MODERN_HOST:-1}" != 0 ]; }; then
  echo "== modern host (Debian 12 VM: systemd, cgroup v2)"
  log=$(mktemp)
  tests/modern-host/run.sh 2>&1 | tee "$log"
  count_summary_log "$log"
  rm -f "$log"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
