"""Errors the client API answers with: a gRPC status code and a message a client can act on."""

from __future__ import annotations

import grpc

# Admission error codes (node/mempool.py AdmissionError.code) -> gRPC status.
_ADMISSION_STATUS: dict[str, grpc.StatusCode] = {
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_argument": grpc.StatusCode.INVALID_ARGUMENT,
    "malformed": grpc.StatusCode.INVALID_ARGUMENT,
    "bad_signature": grpc.StatusCode.INVALID_ARGUMENT,
    "wrong_chain": grpc.StatusCode.INVALID_ARGUMENT,
    "too_large": grpc.StatusCode.INVALID_ARGUMENT,
    "permission_denied": grpc.StatusCode.PERMISSION_DENIED,
    "unenrolled": grpc.StatusCode.PERMISSION_DENIED,
    "not_enrolled": grpc.StatusCode.PERMISSION_DENIED,
    "full": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "resource_exhausted": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "mempool_full": grpc.StatusCode.RESOURCE_EXHAUSTED,
}


class ApiError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def admission_status(code: object) -> grpc.StatusCode:
    """Map a mempool admission code (a str, or an enum with a name/value) to a gRPC status."""
    names = [str(code).lower()]
    for attr in ("name", "value"):
        v = getattr(code, attr, None)
        if isinstance(v, str):
            names.append(v.lower())
    for name in names:
        key = name.rsplit(".", 1)[-1]
        if key in _ADMISSION_STATUS:
            return _ADMISSION_STATUS[key]
        if "permission" in key or "enroll" in key:
            return grpc.StatusCode.PERMISSION_DENIED
        if "full" in key or "exhaust" in key:
            return grpc.StatusCode.RESOURCE_EXHAUSTED
    return grpc.StatusCode.INVALID_ARGUMENT
