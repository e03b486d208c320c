"""baaskit.consensus: PBFT (Castro & Liskov) as a pure, deterministic state machine.

No I/O, no clock, no randomness: messages in, ``Ready`` outputs out. See docs/consensus.md.
"""

from .checkpoint import GENESIS_DIGEST
from .codec import decode_message, decode_record, encode_message, encode_record, encode_wire
from .errors import ConsensusError, LocalMisuse, MalformedMessage
from .faults import PlantedBugs
from .quorum import Quorums
from .ready import (
    BatchCarriedOver,
    BatchCommitted,
    CheckpointStabilized,
    Event,
    MisbehaviourDetected,
    Outbound,
    PrimarySuspected,
    Ready,
    StateTransferRequested,
    SuspicionWithdrawn,
    ValidationRequested,
    ViewChanged,
    ViewChangeStarted,
)
from .records import Record, RecordKind
from .replica import Replica
from .signing import Ed25519Signer, Ed25519Verifier, Signer, Verifier, sign_bytes
from .types import (
    NULL_BATCH,
    Batch,
    Checkpoint,
    ClusterConfig,
    Commit,
    Message,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    ReplicaId,
    Status,
    ViewChange,
)

__all__ = [
    "GENESIS_DIGEST",
    "NULL_BATCH",
    "Batch",
    "BatchCarriedOver",
    "BatchCommitted",
    "Checkpoint",
    "CheckpointStabilized",
    "ClusterConfig",
    "Commit",
    "ConsensusError",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Event",
    "LocalMisuse",
    "MalformedMessage",
    "Message",
    "MisbehaviourDetected",
    "NewView",
    "Outbound",
    "PlantedBugs",
    "PrePrepare",
    "Prepare",
    "PreparedCertificate",
    "PrimarySuspected",
    "Quorums",
    "Ready",
    "Record",
    "RecordKind",
    "Replica",
    "ReplicaId",
    "Signer",
    "StateTransferRequested",
    "Status",
    "SuspicionWithdrawn",
    "ValidationRequested",
    "Verifier",
    "ViewChange",
    "ViewChangeStarted",
    "ViewChanged",
    "decode_message",
    "decode_record",
    "encode_message",
    "encode_record",
    "encode_wire",
    "sign_bytes",
]
