#!/usr/bin/env bash
# Regenerates the protobuf/gRPC Python code next to the .proto files.
#   scripts/gen_proto.sh          regenerate
#   scripts/gen_proto.sh --check  fail if the committed generated code is stale (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
out=proto
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
"$PY" -m grpc_tools.protoc -I proto --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  proto/baaskit/wire/v1/*.proto
if [ "${1:-}" = "--check" ]; then
  for f in "$out"/baaskit/wire/v1/*.py "$out"/baaskit/wire/v1/*.pyi; do
    name=proto/baaskit/wire/v1/$(basename "$f")
    if ! cmp -s "$f" "$name"; then
      echo "stale generated code: $name (run scripts/gen_proto.sh)" >&2
      exit 1
    fi
  done
  echo "generated code is current"
fi
