"""Measure a real local 4-process cluster: tx/s of a simple kv load, and the time from SIGKILL of
the primary to the next commit. Prints numbers; asserts nothing.

    .venv/bin/python scripts/measure_node.py [--txs 5000] [--batch 500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from tests.integration.cluster import running_cluster


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--txs", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_cluster(Path(tmp)) as c:
        txs = [c.kv_tx(f"m{i}", "v", client=i % 4) for i in range(args.txs)]
        t0 = time.monotonic()
        threads = []
        for k, start in enumerate(range(0, args.txs, args.batch)):
            chunk = txs[start : start + args.batch]
            th = threading.Thread(target=c.submit, args=(chunk,), kwargs={"node": k % 4, "timeout": 60})
            th.start()
            threads.append(th)
        for th in threads:
            th.join()
        positions = c.wait_txs([t.tx_id for t in txs], node=0, timeout_s=120)
        dt = time.monotonic() - t0
        committed = sum(p.committed for p in positions)
        st = c.status(0)
        print(f"load: {committed}/{args.txs} txs committed in {dt:.2f}s = {committed / dt:.0f} tx/s; "
              f"height {st.height}, fsyncs {st.metrics['fsyncs']} ({st.metrics['fsyncs'] / max(st.height, 1):.1f}/block)")
        # time from SIGKILL of the primary to the next commit seen by a backup
        primary = st.primary
        backup = (primary + 1) % 4
        h0 = c.status(backup).height
        stop = threading.Event()

        def trickle() -> None:
            i = 0
            while not stop.is_set():
                with contextlib.suppress(Exception):
                    c.submit([c.kv_tx(f"p{i}", "v")], node=backup, timeout=5)
                i += 1
                time.sleep(0.05)

        th = threading.Thread(target=trickle, daemon=True)
        th.start()
        time.sleep(0.5)
        h0 = c.status(backup).height
        c.kill(primary)
        t_kill = time.monotonic()
        while time.monotonic() - t_kill < 60:
            h = c.status(backup).height
            if h > h0 + 1:  # one block may already have been in flight at the kill
                break
            h0 = max(h0, h) if time.monotonic() - t_kill < 0.05 else h0
            time.sleep(0.02)
        print(f"kill primary {primary}: next commit on member {backup} after {time.monotonic() - t_kill:.2f}s "
              f"(view {c.status(backup).view})")
        stop.set()
        th.join(timeout=10)


if __name__ == "__main__":
    main()
