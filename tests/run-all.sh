#!/bin/bash
# Every test of husk: installs what is missing, builds, runs the doctest unit tests, the pytest
# integration tests (real containers, as root) and the packaging tests (man pages, completion,
# meson install, the .deb build), and ends with "N passed, M failed".
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
for t in build/tests/unit/*-unit build/tests/unit/*/*-unit; do
  [ -x "$t" ] || continue
  echo "== unit: $t"
  out=$("$t" 2>&1); echo "$out" | tail -n 4
  line=$(echo "$out" | grep 'test cases:' | tail -n 1)
  p=$(echo "$line" | sed -n 's/.*| *\([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/.*| *\([0-9]*\) failed.*/\1/p')
  s=$(echo "$line" | sed -n 's/.*| *\([0-9]*\) skipped.*/\1/p')
  [ -n "$p" ] || { p=0; f=1; }
  passed=$((passed + p)); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
done

echo "== integration and packaging"
log=$(mktemp)
/usr/bin/python3 -m pytest -p no:cacheprovider -q -rs integration tests/packaging "$@" 2>&1 | tee "$log"
summary=$(grep -E '[0-9]+ (passed|failed|skipped|errors?|deselected).* in [0-9.]+s' "$log" | tail -n 1)
for kind in passed failed skipped error errors; do
  n=$(echo "$summary" | grep -oE "[0-9]+ $kind" | grep -oE '^[0-9]+' || true)
  case $kind in
    passed) passed=$((passed + ${n:-0})) ;;
    skipped) skipped=$((skipped + ${n:-0})) ;;
    *) failed=$((failed + ${n:-0})) ;;
  esac
done
[ -n "$summary" ] || failed=$((failed + 1))
rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
