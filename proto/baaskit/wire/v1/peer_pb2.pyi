from baaskit.wire.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Hello(_message.Message):
    __slots__ = ("chain_id", "member")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    member: int
    def __init__(self, chain_id: _Optional[str] = ..., member: _Optional[int] = ...) -> None: ...

class PeerFrame(_message.Message):
    __slots__ = ("hello", "consensus", "txs", "header_signatures", "held_tx_ids")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_FIELD_NUMBER: _ClassVar[int]
    TXS_FIELD_NUMBER: _ClassVar[int]
    HEADER_SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    HELD_TX_IDS_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    consensus: _containers.RepeatedScalarFieldContainer[bytes]
    txs: _containers.RepeatedCompositeFieldContainer[_types_pb2.TxEnvelope]
    header_signatures: _containers.RepeatedCompositeFieldContainer[_types_pb2.HeaderSignature]
    held_tx_ids: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., consensus: _Optional[_Iterable[bytes]] = ..., txs: _Optional[_Iterable[_Union[_types_pb2.TxEnvelope, _Mapping]]] = ..., header_signatures: _Optional[_Iterable[_Union[_types_pb2.HeaderSignature, _Mapping]]] = ..., held_tx_ids: _Optional[_Iterable[bytes]] = ...) -> None: ...

class FetchBlocksRequest(_message.Message):
    __slots__ = ("from_height", "to_height")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TO_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    to_height: int
    def __init__(self, from_height: _Optional[int] = ..., to_height: _Optional[int] = ...) -> None: ...
