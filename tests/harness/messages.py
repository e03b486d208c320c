"""Hypothesis strategies for every wire message and record (for codec round-trip and fuzzing)."""

from __future__ import annotations

from hypothesis import strategies as st

from baaskit.consensus import (
    Checkpoint,
    Commit,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    Record,
    RecordKind,
    Status,
    ViewChange,
)
from baaskit.consensus.types import CommitCertificate

u64 = st.integers(0, (1 << 64) - 1)
small = st.integers(0, 1000)
rid = st.integers(0, (1 << 32) - 1)
digest = st.binary(min_size=32, max_size=32)
sig = st.binary(max_size=80)
payload = st.binary(max_size=64)

pre_prepares = st.builds(PrePrepare, u64, u64, digest, payload, rid, sig)
prepares = st.builds(Prepare, u64, u64, digest, rid, sig)
commits = st.builds(Commit, u64, u64, digest, rid, sig)
checkpoints = st.builds(Checkpoint, u64, st.binary(max_size=40), rid, sig)


def certificates_of(pps: st.SearchStrategy[PrePrepare]) -> st.SearchStrategy[PreparedCertificate]:
    return st.builds(PreparedCertificate, pps, st.lists(prepares, max_size=3).map(tuple))


def view_changes_of(pps: st.SearchStrategy[PrePrepare]) -> st.SearchStrategy[ViewChange]:
    return st.builds(
        ViewChange,
        u64,
        u64,
        st.binary(max_size=40),
        st.lists(checkpoints, max_size=3).map(tuple),
        st.lists(certificates_of(pps), max_size=2).map(tuple),
        rid,
        sig,
    )


def new_views_of(pps: st.SearchStrategy[PrePrepare], size: int = 2) -> st.SearchStrategy[NewView]:
    """New-views whose pre-prepares (nested in the view-changes, and O) are drawn from `pps`."""
    return st.builds(
        NewView,
        u64,
        st.lists(view_changes_of(pps), max_size=size).map(tuple),
        st.lists(pps, max_size=size).map(tuple),
        rid,
        sig,
    )


certificates = certificates_of(pre_prepares)
view_changes = view_changes_of(pre_prepares)
new_views = new_views_of(pre_prepares)
statuses = st.builds(Status, u64, st.booleans(), u64, u64, st.booleans(), rid, sig)
commit_certificates = st.builds(
    CommitCertificate, pre_prepares, st.lists(commits, max_size=3).map(tuple), rid, sig
)
messages = st.one_of(
    pre_prepares,
    prepares,
    commits,
    checkpoints,
    view_changes,
    new_views,
    statuses,
    commit_certificates,
)
records = st.builds(Record, st.sampled_from(list(RecordKind)), u64, u64, st.binary(max_size=64))
