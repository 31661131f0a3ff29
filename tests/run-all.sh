#!/bin/bash
# Every test of husk: installs what is missing, builds, runs the doctest unit tests, the pytest
# integration tests (real containers, as root) and the packaging tests (man pages, completion,
# meson install, the .deb build); then the hardening stages: the libFuzzer targets for a bounded
# time (tests/fuzz/run.sh) and the unit and integration tests again against an ASan+UBSan build
# (build-asan/); then the modern host: husk's unit tests and the cgroup v2 and systemd integration
# tests inside a Debian 12 VM (tests/modern-host/). Ends with "N passed, M failed".
# HUSK_QUICK=1 skips the hardening stages and the VM; HUSK_MODERN_HOST=0 skips the VM,
# HUSK_MODERN_HOST=only runs the VM stage alone.
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

# pytest ARGS...: adds pytest's counts.
pytest() {
  log=$(mktemp)
  /usr/bin/python3 -m pytest -p no:cacheprovider -q -rs "$@" 2>&1 | tee "$log"
  count_pytest_log "$log"
  rm -f "$log"
}

# The modern host: a Debian 12 VM with systemd as PID 1 and pure cgroup v2 (tests/modern-host/).
modern_host() {
  echo "== modern host (Debian 12 VM: systemd, cgroup v2)"
  log=$(mktemp)
  tests/modern-host/run.sh 2>&1 | tee "$log"
  count_summary_log "$log"
  rm -f "$log"
}

if [ "${HUSK_MODERN_HOST:-}" = only ]; then
  modern_host
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
  exit
fi

unit build
echo "== integration and packaging"
pytest integration tests/packaging tests/test_layers.py "$@"

if [ "${HUSK_QUICK:-0}" != 1 ]; then
  echo "== fuzzing (tests/fuzz/run.sh, ${FUZZ_SECONDS:-45} s a target)"
  out=$(tests/fuzz/run.sh 2>&1); echo "$out"
  passed=$((passed + $(echo "$out" | grep -c ': ok'))); failed=$((failed + $(echo "$out" | grep -c 'FAILED')))

  echo "== ASan+UBSan build (build-asan): unit and integration tests"
  if { [ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined \
         -Dbuildtype=debugoptimized >/dev/null; } && ninja -C build-asan >/dev/null; then
    # Any report of either sanitizer fails the process that made it. The unit tests also check
    # for leaks; the integration tests cannot: LeakSanitizer stops the world at exit with a
    # cloned tracer, which lands in the container's pid namespace when husk joined one (setns
    # before clone) and hangs there.
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 unit build-asan
    # The files whose code paths are husk's own (lifecycle, setup, security, cgroups, exec,
    # hooks, escapes) and the shim's; not the peers' (docker, podman, containerd's CRI) nor the
    # strace-driven crash tests, which a sanitizer build makes too slow for CI. Not the shim's
    # memory size either (ASan's shadow memory is most of it), nor 240 containers racing for a
    # cgroup parent (minutes under ASan; a race test, not a memory test).
    ASAN_OPTIONS=abort_on_error=0:detect_leaks=0 \
      HUSK=$PWD/build-asan/runtime/husk HUSK_SHIM=$PWD/build-asan/shim/containerd-shim-husk-v2 \
      pytest integration/test_lifecycle.py integration/test_setup.py integration/test_security.py \
        integration/test_cgroups.py integration/test_exec.py integration/test_hooks_console_errors.py \
        integration/test_escapes.py integration/test_shim.py integration/test_shim_protocol.py \
        --deselect integration/test_shim.py::test_shim_stays_small_and_single_threaded \
        --deselect integration/test_lifecycle.py::test_parallel_runs_under_one_cgroup_parent "$@"
  else
    echo "ASan build: FAILED"; failed=$((failed + 1))
  fi
fi
[ "${HUSK_QUICK:-0}" = 1 ] || [ "${HUSK_MODERN_HOST:-1}" = 0 ] || modern_host
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
