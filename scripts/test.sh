#!/usr/bin/env bash
# The README test command: creates .venv if missing, installs baaskit with its dev extras, runs the
# linters (ruff, mypy) and the test suite (unit, property tests at the CI budget, integration on loopback).
# Tests marked `slow` are excluded here (run them with: .venv/bin/pytest -m slow); scripts/soak.sh
# runs the consensus property search at a large budget with a random seed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}
echo "== proto: generated code matches the .proto files"
bash scripts/gen_proto.sh --check
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy"
.venv/bin/mypy common consensus contracts node client cli bench tests
echo "== pytest (HYPOTHESIS_PROFILE=$HYPOTHESIS_PROFILE)"
exec .venv/bin/python -m pytest -m "not slow" -p no:cacheprovider "$@"
