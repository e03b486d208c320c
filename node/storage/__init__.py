"""Node storage: one key schema (keys.py), one Store implementation over two backends."""

from .interface import CorruptStoreError, Store, StoredBlock, StoreError, StoreLockedError
from .kvstore import KVStore, StateAdapter
from .leveldb import LevelStore
from .memory import MemoryStore

__all__ = [
    "CorruptStoreError",
    "KVStore",
    "LevelStore",
    "MemoryStore",
    "StateAdapter",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoredBlock",
]
