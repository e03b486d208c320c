#!/usr/bin/env bash
# The benchmark from a fresh clone: creates .venv if missing, installs baaskit with the plotting
# extra, starts a fresh local 4-node cluster on free ports and runs `baaskit bench` with the
# arguments given (default: 1,000 tx/s open loop, then closed loop at maximum, plus the client-side
# figures). See `baaskit bench --help` (--sweep PNG, --fault kill-primary, --json, --duration).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[bench]'
if [ "$#" -eq 0 ]; then
  set -- --rate 1000 --max --extras
fi
exec .venv/bin/baaskit bench "$@"
