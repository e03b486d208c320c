"""The two error kinds: a remote peer broke the protocol vs the local caller misused the API.

Remote errors never escape ``Replica``: they become ``MisbehaviourDetected`` evidence.
"""

from __future__ import annotations


class ConsensusError(Exception):
    """Base class of every exception raised by baaskit.consensus."""


class MalformedMessage(ConsensusError):
    """Bytes that are not a canonical encoding of a message or record."""


class LocalMisuse(ConsensusError):
    """Raised only by constructors (e.g. an invalid restore); API calls return Ready.rejected."""
