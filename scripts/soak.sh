#!/usr/bin/env bash
# Soak: the consensus property search (tests/consensus/test_properties.py) at a much larger budget,
# with a random seed (printed), under HYPOTHESIS_PROFILE=soak (random, not derandomized).
#
#   scripts/soak.sh [SCHEDULES] [SEED]      # defaults: 100000 schedules, a fresh random seed
#
# Prints the seed, schedules/s (simulation only, and wall clock), and any failing schedule.
# A failure prints `Falsifying example: ...(scenario=Scenario(...))`: paste that Scenario(...)
# into tests/consensus/regressions.py (REGRESSIONS, with a comment) so CI replays it forever;
# re-run the same search with `scripts/soak.sh SCHEDULES SEED`.
set -euo pipefail
cd "$(dirname "$0")/.."
SCHEDULES=${1:-100000}
SEED=${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
PY=.venv/bin/python
[ -x "$PY" ] || { echo "no .venv: run scripts/test.sh once first" >&2; exit 2; }
# test_properties.py runs 1000 + 1500 + 300 + 100 + 150 = 3050 schedules at BAASKIT_BUDGET_SCALE=1.
SCALE=$("$PY" -c "print(max(1.0, $SCHEDULES / 3050))")
echo "soak: ~$SCHEDULES schedules, seed $SEED, BAASKIT_BUDGET_SCALE=$SCALE"
start=$(date +%s)
set +e
HYPOTHESIS_PROFILE=soak BAASKIT_BUDGET_SCALE=$SCALE "$PY" -m pytest -p no:cacheprovider -q \
  -o addopts="" --timeout=0 --hypothesis-seed="$SEED" \
  tests/consensus/test_properties.py tests/consensus/test_regressions.py
status=$?
set -e
end=$(date +%s)
rate=$("$PY" -c "print(round($SCHEDULES / max(1, $end - $start), 1))")
echo "soak: seed $SEED, wall clock $((end - start))s (~$rate schedules/s overall), exit status $status"
exit $status
