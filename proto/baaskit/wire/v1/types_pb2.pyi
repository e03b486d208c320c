from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TxEnvelope(_message.Message):
    __slots__ = ("payload", "signer", "signature")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    signer: bytes
    signature: bytes
    def __init__(self, payload: _Optional[bytes] = ..., signer: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class HeaderSignature(_message.Message):
    __slots__ = ("height", "header_hash", "member", "signature")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    HEADER_HASH_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    height: int
    header_hash: bytes
    member: int
    signature: bytes
    def __init__(self, height: _Optional[int] = ..., header_hash: _Optional[bytes] = ..., member: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class BlockCertificate(_message.Message):
    __slots__ = ("height", "header_hash", "signatures")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    HEADER_HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    height: int
    header_hash: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[HeaderSignature]
    def __init__(self, height: _Optional[int] = ..., header_hash: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[HeaderSignature, _Mapping]]] = ...) -> None: ...

class Block(_message.Message):
    __slots__ = ("header", "txs", "results")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    TXS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    header: bytes
    txs: _containers.RepeatedCompositeFieldContainer[TxEnvelope]
    results: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, header: _Optional[bytes] = ..., txs: _Optional[_Iterable[_Union[TxEnvelope, _Mapping]]] = ..., results: _Optional[_Iterable[bytes]] = ...) -> None: ...

class CertifiedBlock(_message.Message):
    __slots__ = ("block", "certificate")
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    block: Block
    certificate: BlockCertificate
    def __init__(self, block: _Optional[_Union[Block, _Mapping]] = ..., certificate: _Optional[_Union[BlockCertificate, _Mapping]] = ...) -> None: ...
