"""A simulated cluster: replicas, their model applications, a lossy network, crashes, partitions,
byzantine replicas, and the invariants checked after every step.

The harness plays the node exactly as docs/consensus.md asks: for each Ready it persists the
records, THEN sends the messages, then answers validations and executes committed batches in
order. A crash happens between two Ready values, so only what was persisted survives.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from baaskit.consensus import (
    NULL_BATCH,
    BatchCarriedOver,
    BatchCommitted,
    ClusterConfig,
    Commit,
    MisbehaviourDetected,
    NewView,
    PlantedBugs,
    Prepare,
    Ready,
    Record,
    RecordKind,
    Replica,
    ReplicaId,
    StateTransferRequested,
    ViewChange,
    decode_message,
)

from .app import AppState, decode_requests, make_batch, validate
from .byzantine import Adversary, Behaviour
from .keys import FakeSigner, FakeVerifier

_WATCHED = frozenset({2, 3, 5})  # codec kinds: Prepare, Commit, ViewChange


class Violation(AssertionError):
    """An invariant of the protocol does not hold."""


@dataclass
class Envelope:
    src: ReplicaId
    dst: ReplicaId
    data: bytes


@dataclass
class Node:
    rid: ReplicaId
    replica: Replica | None
    adversary: Adversary | None = None
    store: dict[bytes, Record] = field(default_factory=dict)
    app: AppState = field(default_factory=AppState)
    accepted: dict[int, dict[int, tuple[int, ...]]] = field(default_factory=dict)
    known_done: set[int] = field(default_factory=set)  # committed or executed request ids
    queue: deque[BatchCommitted | StateTransferRequested] = field(default_factory=deque)
    pending_flag: bool = False
    # Seqs whose validation this node leaves unanswered (the node abstains, as a lagging node
    # does on a stale proposal: node/validation.py behind_ms).
    abstain: set[int] = field(default_factory=set)
    # The node's fetch of a transferred state has not finished (a slow fetch, or a target peers
    # have not certified yet): requested transfers wait in the queue until this is cleared.
    fetch_held: bool = False

    @property
    def honest(self) -> bool:
        return self.adversary is None

    @property
    def up(self) -> bool:
        return self.replica is not None


class Cluster:
    def __init__(
        self,
        config: ClusterConfig,
        byzantine: dict[ReplicaId, Behaviour] | None = None,
        bugs: PlantedBugs | None = None,
        batch_size: int = 2,
    ) -> None:
        self.config = config
        self.bugs = bugs
        self.batch_size = batch_size
        self.verifier = FakeVerifier(config.n)
        self.submitted: list[int] = []
        self.submitted_set: set[int] = set()
        self.proposed: set[bytes] = {NULL_BATCH.digest}
        self.decided: dict[int, bytes] = {}  # seq -> batch digest committed by an honest replica
        self.decided_view: dict[int, int] = {}  # seq -> lowest view it was committed in
        self.state_at: dict[int, bytes] = {}  # seq -> state digest of honest replicas
        self.inflight: list[Envelope] = []
        self.groups: dict[ReplicaId, int] | None = None
        # ghost state for the paper's invariants (what honest replicas actually sent)
        self.honest_votes: dict[tuple[int, ReplicaId, int, int], bytes] = {}
        self.honest_commits: dict[tuple[int, int, bytes], set[ReplicaId]] = {}
        self.commits_by: dict[ReplicaId, dict[int, tuple[int, bytes]]] = {}
        self.steps = 0
        self.liveness_rounds = 0
        self.transfers: list[tuple[ReplicaId, int, ReplicaId]] = []  # (replica, seq, donor)
        self.delivered = 0
        self.nodes: list[Node] = []
        byzantine = byzantine or {}
        for r in range(config.n):
            adv = None
            if r in byzantine:
                adv = Adversary(r, config, byzantine[r], lambda: self.submitted)
            self.nodes.append(Node(r, self._new_replica(r, adv is None), adv))
        self._work: deque[tuple[ReplicaId, Ready]] = deque()

    def _new_replica(self, r: ReplicaId, honest: bool) -> Replica:
        bugs = self.bugs if honest else None
        return Replica(self.config, r, FakeSigner(r), self.verifier, bugs=bugs)

    # ------------------------------------------------------------------ views of the cluster

    @property
    def honest(self) -> list[Node]:
        return [n for n in self.nodes if n.honest]

    def fail(self, what: str) -> None:
        raise Violation(f"step {self.steps}: {what}")

    # ------------------------------------------------------------------ driving one node

    def call(self, r: ReplicaId, ready: Ready) -> None:
        """Queue a Ready of replica r and process everything that follows from it."""
        self._work.append((r, ready))
        while self._work:
            rid, rd = self._work.popleft()
            self._handle(self.nodes[rid], rd)

    def _handle(self, node: Node, ready: Ready) -> None:
        replica = node.replica
        if replica is None:
            return
        # 1. persist (durable) ...
        for rec in ready.persist:
            node.store[rec.key] = rec
            if rec.kind is RecordKind.NEW_VIEW and node.honest:
                self._check_new_view(node, rec.data)
        if ready.forget_below is not None:
            for key in [k for k, rec in node.store.items() if rec.forgettable(ready.forget_below)]:
                del node.store[key]
        # 2. ... then send
        for m in ready.messages:
            if node.honest and m.data[1] in _WATCHED:
                self._check_outbound(node, m.data)
            self._send(node, m.to, m.data)
        for ev in ready.events:
            if isinstance(ev, MisbehaviourDetected) and node.honest:
                accused = self.nodes[ev.replica]
                if accused.honest:
                    self.fail(f"replica {node.rid} accuses honest replica {ev.replica}: {ev}")
            elif isinstance(ev, BatchCarriedOver):
                ids = decode_requests(ev.batch.payload) or ()
                node.accepted.setdefault(ev.view, {})[ev.seq] = ids
        for v in ready.validate:
            if v.seq in node.abstain:
                continue
            in_view = node.accepted.setdefault(v.view, {})
            ok = validate(v.batch.payload, v.seq, self.submitted_set, node.known_done, in_view)
            if ok:
                in_view[v.seq] = decode_requests(v.batch.payload) or ()
            self._work.append((node.rid, replica.validated(v.view, v.seq, v.batch.digest, ok)))
        for t in ready.state_transfer:  # the ordering rule: transfers first, then commits
            node.queue.append(t)
        for c in ready.committed:
            node.queue.append(c)
        self._drain_queue(node)

    def _drain_queue(self, node: Node) -> None:
        replica = node.replica
        assert replica is not None
        app = node.app
        while node.queue:
            item = node.queue[0]
            if isinstance(item, BatchCommitted):
                node.queue.popleft()
                if item.seq <= app.last_executed:
                    continue
                if item.seq != app.last_executed + 1:
                    self.fail(f"replica {node.rid}: commit {item.seq} after {app.last_executed}")
                if node.honest:
                    self._check_commit(node, item)
                ids = decode_requests(item.batch.payload) or ()
                node.known_done.update(ids)
                digest = app.execute(item.seq, item.batch.payload)
                if node.honest:
                    self._check_state(node, item.seq, digest)
                self._work.append((node.rid, replica.executed(item.seq, digest)))
            else:
                have = app.history.get(item.seq)
                if app.last_executed >= item.seq and have and have[0] == item.state_digest:
                    node.queue.popleft()
                    continue
                donor = None if node.fetch_held else self._donor(node, item.seq, item.state_digest)
                if donor is None:
                    return  # blocked until some replica can serve that state
                node.queue.popleft()
                self.transfers.append((node.rid, item.seq, donor.rid))
                app.copy_from(donor.app, item.seq)
                node.known_done.update(app.executed_set)
                if node.honest:
                    for s in sorted(app.history):
                        self._check_state(node, s, app.history[s][0])
                self._work.append((node.rid, replica.state_installed(item.seq, app.digest)))

    def _donor(self, node: Node, seq: int, digest: bytes) -> Node | None:
        for other in self.nodes:
            h = other.app.history.get(seq)
            if other is not node and other.up and h is not None and h[0] == digest:
                return other
        return None

    def _send(self, node: Node, to: ReplicaId | None, data: bytes) -> None:
        sends: Iterable[tuple[ReplicaId | None, bytes]] = [(to, data)]
        if node.adversary is not None:
            sends = node.adversary.outgoing(to, data)
        for dst, payload in sends:
            self.post(node.rid, dst, payload)

    def post(self, src: ReplicaId, to: ReplicaId | None, data: bytes) -> None:
        for dst in range(self.config.n) if to is None else (to,):
            if dst != src:
                self.inflight.append(Envelope(src, dst, data))

    # ------------------------------------------------------------------ invariants

    def _check_commit(self, node: Node, c: BatchCommitted) -> None:
        d = c.batch.digest
        prev = self.decided.setdefault(c.seq, d)
        self.decided_view[c.seq] = min(self.decided_view.get(c.seq, c.view), c.view)
        if prev != d:
            self.fail(f"AGREEMENT: replica {node.rid} committed another batch at seq {c.seq}")
        if not self.was_proposed(d):
            self.fail(f"VALIDITY: replica {node.rid} committed a batch nobody proposed at {c.seq}")
        voters = self.honest_commits.get((c.view, c.seq, d), set())
        if len(voters) < self.config.f + 1:
            self.fail(
                f"COMMITTED: replica {node.rid} committed seq {c.seq} (view {c.view}) that "
                f"only {sorted(voters)} honest replicas prepared (needs f+1)"
            )
        ids = decode_requests(c.batch.payload)
        if ids is None or len(set(ids)) != len(ids) or not set(ids) <= self.submitted_set:
            self.fail(f"VALIDITY: replica {node.rid} committed an invalid batch at {c.seq}")

    def _check_outbound(self, node: Node, data: bytes) -> None:
        """Ghost checks on what an honest replica sends: it never votes for two different batches
        at one (view, seq) -- not even across a crash --, and its view-change carries a prepared
        certificate for every seq above its stable checkpoint for which it has sent a commit."""
        msg = decode_message(data)
        if isinstance(msg, Prepare | Commit):
            key = (data[1], node.rid, msg.view, msg.seq)
            prev = self.honest_votes.setdefault(key, msg.digest)
            if prev != msg.digest:
                self.fail(
                    f"EQUIVOCATION: honest replica {node.rid} sent two {type(msg).__name__}s "
                    f"for view {msg.view} seq {msg.seq}"
                )
            if isinstance(msg, Commit):
                self.honest_commits.setdefault((msg.view, msg.seq, msg.digest), set()).add(node.rid)
                mine = self.commits_by.setdefault(node.rid, {})
                if msg.view >= mine.get(msg.seq, (-1, b""))[0]:
                    mine[msg.seq] = (msg.view, msg.digest)
        elif isinstance(msg, ViewChange):
            certs = {c.seq: c for c in msg.prepared}
            for seq, (view, digest) in sorted(self.commits_by.get(node.rid, {}).items()):
                if seq <= msg.stable_seq or view >= msg.view:
                    continue
                cert = certs.get(seq)
                if (
                    cert is None
                    or cert.view < view
                    or (cert.view == view and cert.digest != digest)
                ):
                    self.fail(
                        f"VIEW-CHANGE: honest replica {node.rid} committed-voted seq {seq} "
                        f"in view {view} but its view-change for {msg.view} lacks the "
                        f"certificate (stable {msg.stable_seq})"
                    )

    def _check_new_view(self, node: Node, data: bytes) -> None:
        """C&L's view-change lemma: a new view an honest replica installs re-proposes, above its
        stable checkpoint, exactly the batch of every seq already committed by an honest replica."""
        nv = decode_message(data)
        assert isinstance(nv, NewView)
        min_s = max([vc.stable_seq for vc in nv.view_changes], default=0)
        o = {pp.seq: pp.digest for pp in nv.pre_prepares}
        for seq, digest in sorted(self.decided.items()):
            if seq > min_s and self.decided_view[seq] < nv.view and o.get(seq) != digest:
                self.fail(
                    f"NEW-VIEW: replica {node.rid} installs view {nv.view} whose O does not "
                    f"re-propose the batch committed at seq {seq}"
                )

    def _check_state(self, node: Node, seq: int, digest: bytes) -> None:
        prev = self.state_at.setdefault(seq, digest)
        if prev != digest:
            self.fail(f"AGREEMENT: replica {node.rid} state differs at seq {seq}")
        app = node.app
        if len(app.executed) != len(set(app.executed)):
            self.fail(f"AT-MOST-ONCE: replica {node.rid} executed a request twice")

    # ------------------------------------------------------------------ actions

    def submit(self) -> int:
        rid = len(self.submitted) + 1
        self.submitted.append(rid)
        self.submitted_set.add(rid)
        return rid

    def deliver(self, index: int) -> None:
        env = self.inflight.pop(index % len(self.inflight))
        node = self.nodes[env.dst]
        if node.replica is None or not self.connected(env.src, env.dst):
            return
        self.delivered += 1
        if node.adversary is not None:
            for dst, data in node.adversary.observe(env.data):
                self.post(node.rid, dst, data)
        self.call(node.rid, node.replica.receive(env.data, env.src))

    def connected(self, a: ReplicaId, b: ReplicaId) -> bool:
        return self.groups is None or self.groups[a] == self.groups[b]

    def tick(self, r: ReplicaId | None = None) -> None:
        for node in self.nodes if r is None else [self.nodes[r]]:
            if node.replica is not None:
                self.call(node.rid, node.replica.tick())
                if node.queue:
                    self._drain_queue(node)
                    self.call(node.rid, Ready())

    def crash(self, r: ReplicaId) -> None:
        node = self.nodes[r]
        if node.replica is None or not node.honest:
            return
        node.replica = None
        node.queue.clear()
        node.accepted.clear()
        node.pending_flag = False

    def restart(self, r: ReplicaId) -> None:
        node = self.nodes[r]
        if node.replica is not None:
            return
        node.replica = Replica.restore(
            self.config,
            r,
            FakeSigner(r),
            self.verifier,
            list(node.store.values()),
            node.app.last_executed,
            node.app.digest,
            bugs=self.bugs,
        )
        node.known_done = set(node.app.executed_set)
        self.call(r, node.replica.requests_pending(False))

    def partition(self, groups: dict[ReplicaId, int] | None) -> None:
        self.groups = groups

    def byzantine_act(self, a: int, b: int) -> None:
        for node in self.nodes:
            if node.adversary is not None and node.replica is not None:
                for dst, data in node.adversary.act(a, b):
                    self.post(node.rid, dst, data)

    def pump(self) -> None:
        """Node-side duties after each step: primaries propose pending requests, backups tell
        their replica whether requests are waiting."""
        for node in self.nodes:
            replica = node.replica
            if replica is None:
                continue
            waiting = [r for r in self.submitted if r not in node.known_done]
            flag = bool(waiting) and node.honest
            if flag != node.pending_flag:
                node.pending_flag = flag
                self.call(node.rid, replica.requests_pending(flag))
            if not replica.is_primary or replica.in_view_change or node.queue:
                continue
            if node.app.last_executed < replica.stable_checkpoint:
                continue
            in_view = node.accepted.setdefault(replica.view, {})
            busy = {i for ids in in_view.values() for i in ids}
            todo = [r for r in waiting if r not in busy]
            adv = node.adversary
            if adv is not None and adv.behaviour.invalid_batches:
                todo = [10**6 + self.steps]
            while todo:
                chunk, todo = todo[: self.batch_size], todo[self.batch_size :]
                batch = make_batch(chunk)
                view = replica.view
                ready = replica.propose(batch)
                if ready.rejected is not None:
                    break
                self.proposed.add(batch.digest)
                node.accepted.setdefault(view, {})[replica.next_sequence - 1] = tuple(chunk)
                self.call(node.rid, ready)

    def was_proposed(self, digest: bytes) -> bool:
        """Proposed by some primary: an honest one, or a byzantine one (its inventions count as
        proposals; whether they may commit is decided by honest validation)."""
        if digest in self.proposed:
            return True
        return any(n.adversary is not None and digest in n.adversary.invented for n in self.nodes)
