# Test counting shared by tests/run-all.sh and the modern-host guest (sourced, bash): each
# function runs or reads one kind of test output and adds to $passed, $failed and $skipped.

passed=${passed:-0} failed=${failed:-0} skipped=${skipped:-0}

# unit BUILD_DIR: runs every doctest binary of that build and adds its counts.
unit() {
  local t out line p f s
  for t in "$1"/tests/unit/*-unit "$1"/tests/unit/*/*-unit; do
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
}

# Adds the counts of pytest's summary line in LOG; a log without one counts as one failure.
count_pytest_log() {
  local summary kind n
  summary=$(grep -E '[0-9]+ (passed|failed|skipped|errors?|deselected).* in [0-9.]+s' "$1" | tail -n 1)
  for kind in passed failed skipped error errors; do
    n=$(echo "$summary" | grep -oE "[0-9]+ $kind" | grep -oE '^[0-9]+' || true)
    case $kind in
      passed) passed=$((passed + ${n:-0})) ;;
      skipped) skipped=$((skipped + ${n:-0})) ;;
      *) failed=$((failed + ${n:-0})) ;;
    esac
  done
  [ -n "$summary" ] || failed=$((failed + 1))
}

# Adds the counts of a final "N passed, M failed, K skipped" line in LOG (a stage run apart,
# such as the modern-host VM); a log without one counts as one failure.
count_summary_log() {
  local line p f s
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
  p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
  [ -n "$p" ] || { p=0; f=1; }
  passed=$((passed + p)); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
}
