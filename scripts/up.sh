#!/usr/bin/env bash
# The main command: from a fresh clone, create .venv (if missing), install baaskit, bring up a local
# 4-node cluster on 127.0.0.1 in .baaskit/cluster, submit one kv transaction signed by an enrolled
# client key, wait for its commit and print it. Stop the cluster with: .venv/bin/baaskit down
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s.%N)
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing baaskit"
.venv/bin/python -m pip install -q -e . >/dev/null 2>&1
DIR=${BAASKIT_DIR:-.baaskit/cluster}
echo "== baaskit up --dir $DIR"
.venv/bin/baaskit up --dir "$DIR" ${BAASKIT_BASE_PORT:+--base-port "$BAASKIT_BASE_PORT"}
echo "== submitting a transaction"
.venv/bin/python - "$DIR" <<'PY'
import sys, time
from pathlib import Path
import grpc
from baaskit.genesis import load_genesis
from baaskit.node.keyfiles import load_signing_key
from baaskit.tx import make_tx
from baaskit.wire.v1 import api_pb2, api_pb2_grpc, types_pb2

root = Path(sys.argv[1])
genesis = load_genesis(root / "genesis.json")
key = load_signing_key(sorted((root / "clients").glob("*.key"))[0])
member = genesis.members[1]
tx = make_tx(key, genesis.chain_id, "kv", "set", {"key": "hello", "value": f"world at {time.strftime('%H:%M:%S')}"})
creds = grpc.ssl_channel_credentials(root_certificates=genesis.ca_cert_pem.encode())
with grpc.secure_channel(f"{member.host}:{member.api_port}", creds) as ch:
    api = api_pb2_grpc.ApiStub(ch)
    env = types_pb2.TxEnvelope(payload=tx.payload, signer=tx.signer, signature=tx.signature)
    ack = api.Submit(api_pb2.SubmitRequest(txs=[env]), timeout=10).acks[0]
    print(f"  submitted tx {tx.tx_id.hex()} to {member.name}: {api_pb2.AckCode.Name(ack.code)}")
    pos = api.WaitTxs(api_pb2.WaitTxsRequest(tx_ids=[tx.tx_id], timeout_ms=20_000), timeout=30).positions[0]
    if not pos.committed:
        sys.exit("  the transaction did not commit within 20s (see: .venv/bin/baaskit logs)")
    deadline = time.monotonic() + 10
    while True:  # the block certificate (2f+1 header signatures) follows the commit closely
        proof = api.GetTx(api_pb2.GetTxRequest(tx_id=tx.tx_id), timeout=10)
        if proof.certificate.signatures or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    print(f"  committed at height {pos.height}, index {pos.index}: result {pos.result.decode()}")
    print(f"  block header: {proof.header.decode()}")
    print(f"  certificate: {len(proof.certificate.signatures)} member signatures over the header")
PY
end=$(date +%s.%N)
printf '== done in %.1fs; cluster keeps running. Stop it: .venv/bin/baaskit down --dir %s\n' "$(echo "$end - $start" | bc)" "$DIR"
