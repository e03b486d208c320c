#!/usr/bin/env bash
# The main job, from a fresh clone: create .venv (if missing), install baaskit, bring up a local
# 4-node cluster on 127.0.0.1 (.baaskit/cluster), notarize a sample document, write its receipt,
# and verify the receipt offline (genesis file only: no node, no network).
# The cluster keeps running afterwards; stop it with: .venv/bin/baaskit down
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS=0
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing baaskit"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .
DIR=${BAASKIT_DIR:-.baaskit/cluster}
echo "== baaskit up --dir $DIR"
.venv/bin/baaskit up --dir "$DIR" ${BAASKIT_BASE_PORT:+--base-port "$BAASKIT_BASE_PORT"}

DOCS=.baaskit/documents
mkdir -p "$DOCS"
DOC="$DOCS/sample-contract.txt"
printf 'Sample agreement between bank-hk and wallet-ph.\nDrafted %s on %s.\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(hostname)" > "$DOC"
echo "== baaskit notarize $DOC"
.venv/bin/baaskit notarize "$DOC" --describe --label "up.sh sample" --cluster "$DIR" --out "$DOCS"
RECEIPT="$DOCS/$(basename "$DOC").receipt.json"
echo "== baaskit verify (offline: the genesis file is the only trust input)"
.venv/bin/baaskit verify "$DOC" "$RECEIPT" --genesis "$DIR/genesis.json"
echo "== done in ${SECONDS}s. The receipt: $RECEIPT"
echo "   Stop the cluster: .venv/bin/baaskit down --dir $DIR"
