from baaskit.wire.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AckCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACK_UNSPECIFIED: _ClassVar[AckCode]
    ACCEPTED: _ClassVar[AckCode]
    DUPLICATE: _ClassVar[AckCode]
    COMMITTED: _ClassVar[AckCode]
ACK_UNSPECIFIED: AckCode
ACCEPTED: AckCode
DUPLICATE: AckCode
COMMITTED: AckCode

class SubmitRequest(_message.Message):
    __slots__ = ("txs",)
    TXS_FIELD_NUMBER: _ClassVar[int]
    txs: _containers.RepeatedCompositeFieldContainer[_types_pb2.TxEnvelope]
    def __init__(self, txs: _Optional[_Iterable[_Union[_types_pb2.TxEnvelope, _Mapping]]] = ...) -> None: ...

class TxAck(_message.Message):
    __slots__ = ("tx_id", "code")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    tx_id: bytes
    code: AckCode
    def __init__(self, tx_id: _Optional[bytes] = ..., code: _Optional[_Union[AckCode, str]] = ...) -> None: ...

class SubmitResponse(_message.Message):
    __slots__ = ("acks",)
    ACKS_FIELD_NUMBER: _ClassVar[int]
    acks: _containers.RepeatedCompositeFieldContainer[TxAck]
    def __init__(self, acks: _Optional[_Iterable[_Union[TxAck, _Mapping]]] = ...) -> None: ...

class WaitTxsRequest(_message.Message):
    __slots__ = ("tx_ids", "timeout_ms")
    TX_IDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    tx_ids: _containers.RepeatedScalarFieldContainer[bytes]
    timeout_ms: int
    def __init__(self, tx_ids: _Optional[_Iterable[bytes]] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class TxPosition(_message.Message):
    __slots__ = ("tx_id", "committed", "height", "index", "result")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    tx_id: bytes
    committed: bool
    height: int
    index: int
    result: bytes
    def __init__(self, tx_id: _Optional[bytes] = ..., committed: _Optional[bool] = ..., height: _Optional[int] = ..., index: _Optional[int] = ..., result: _Optional[bytes] = ...) -> None: ...

class WaitTxsResponse(_message.Message):
    __slots__ = ("positions",)
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    positions: _containers.RepeatedCompositeFieldContainer[TxPosition]
    def __init__(self, positions: _Optional[_Iterable[_Union[TxPosition, _Mapping]]] = ...) -> None: ...

class GetTxRequest(_message.Message):
    __slots__ = ("tx_id",)
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    tx_id: bytes
    def __init__(self, tx_id: _Optional[bytes] = ...) -> None: ...

class TxProof(_message.Message):
    __slots__ = ("tx", "height", "index", "tx_count", "tx_path", "result", "result_path", "header", "certificate")
    TX_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TX_COUNT_FIELD_NUMBER: _ClassVar[int]
    TX_PATH_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RESULT_PATH_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    tx: _types_pb2.TxEnvelope
    height: int
    index: int
    tx_count: int
    tx_path: _containers.RepeatedScalarFieldContainer[bytes]
    result: bytes
    result_path: _containers.RepeatedScalarFieldContainer[bytes]
    header: bytes
    certificate: _types_pb2.BlockCertificate
    def __init__(self, tx: _Optional[_Union[_types_pb2.TxEnvelope, _Mapping]] = ..., height: _Optional[int] = ..., index: _Optional[int] = ..., tx_count: _Optional[int] = ..., tx_path: _Optional[_Iterable[bytes]] = ..., result: _Optional[bytes] = ..., result_path: _Optional[_Iterable[bytes]] = ..., header: _Optional[bytes] = ..., certificate: _Optional[_Union[_types_pb2.BlockCertificate, _Mapping]] = ...) -> None: ...

class GetBlockRequest(_message.Message):
    __slots__ = ("height",)
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    height: int
    def __init__(self, height: _Optional[int] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("contract", "method", "args")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    contract: str
    method: str
    args: bytes
    def __init__(self, contract: _Optional[str] = ..., method: _Optional[str] = ..., args: _Optional[bytes] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("result", "height")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    result: bytes
    height: int
    def __init__(self, result: _Optional[bytes] = ..., height: _Optional[int] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("from_height",)
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    def __init__(self, from_height: _Optional[int] = ...) -> None: ...

class BlockEvent(_message.Message):
    __slots__ = ("height", "header", "tx_ids", "results")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    TX_IDS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    height: int
    header: bytes
    tx_ids: _containers.RepeatedScalarFieldContainer[bytes]
    results: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, height: _Optional[int] = ..., header: _Optional[bytes] = ..., tx_ids: _Optional[_Iterable[bytes]] = ..., results: _Optional[_Iterable[bytes]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("chain_id", "member", "name", "height", "view", "primary", "mempool_size", "stable_checkpoint", "last_block_hash", "metrics")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_FIELD_NUMBER: _ClassVar[int]
    MEMPOOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    STABLE_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    LAST_BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    member: int
    name: str
    height: int
    view: int
    primary: int
    mempool_size: int
    stable_checkpoint: int
    last_block_hash: bytes
    metrics: _containers.ScalarMap[str, int]
    def __init__(self, chain_id: _Optional[str] = ..., member: _Optional[int] = ..., name: _Optional[str] = ..., height: _Optional[int] = ..., view: _Optional[int] = ..., primary: _Optional[int] = ..., mempool_size: _Optional[int] = ..., stable_checkpoint: _Optional[int] = ..., last_block_hash: _Optional[bytes] = ..., metrics: _Optional[_Mapping[str, int]] = ...) -> None: ...
