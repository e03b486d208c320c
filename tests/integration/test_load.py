"""1,000 transactions through the client API commit on all 4 nodes with identical blocks."""

from __future__ import annotations

import pytest

from .cluster import Cluster

pytestmark = pytest.mark.integration


def test_1000_txs_commit_on_all_nodes_with_identical_block_hashes(cluster: Cluster) -> None:
    txs = [cluster.kv_tx(f"k{i}", f"v{i}", client=i % 4) for i in range(1000)]
    for start in range(0, 1000, 100):  # spread the requests over the 4 nodes
        acks = cluster.submit(txs[start : start + 100], node=(start // 100) % 4).acks
        assert [a.code for a in acks] == [1] * 100  # ACCEPTED
    positions = cluster.wait_txs([t.tx_id for t in txs], node=1, timeout_s=60)
    assert all(p.committed for p in positions)
    top = max(p.height for p in positions)
    cluster.wait_height(top, timeout_s=30)
    hashes = [cluster.block_hashes(i, top) for i in range(4)]
    assert hashes[0] == hashes[1] == hashes[2] == hashes[3]
    statuses = [cluster.status(i) for i in range(4)]
    # every tx committed exactly once, in some block
    assert sum(1 for p in positions if p.committed) == 1000
    assert len({p.tx_id for p in positions}) == 1000
    # fsyncs are O(1) per block, not per message or per transaction
    for st in statuses:
        blocks = st.metrics["blocks"]
        assert blocks >= 1
        assert st.metrics["fsyncs"] <= 8 * st.height + 20, dict(st.metrics)
        assert st.metrics["fsyncs"] < 1000 / 2, dict(st.metrics)
