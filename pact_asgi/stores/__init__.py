"""State a provider keeps between requests: the replay cache and the revocation list.

Two interfaces, each with an in-memory implementation (the default, for one process)
and a Redis one (for several workers or hosts; needs ``pip install 'pact-asgi[redis]'``):

- :class:`ReplayCache`: :class:`MemoryReplayCache`, :class:`RedisReplayCache`;
- :class:`RevocationStore`: :class:`MemoryRevocationStore`, :class:`RedisRevocationStore`.

Both fail closed: a store that is full or cannot answer raises
:class:`~pact_asgi.errors.StoreUnavailableError` and the request is refused.
"""

from __future__ import annotations

from pact_asgi.stores.base import ReplayCache, RevocationStore
from pact_asgi.stores.memory import MemoryReplayCache, MemoryRevocationStore
from pact_asgi.stores.redis import RedisReplayCache, RedisRevocationStore

__all__ = [
    "MemoryReplayCache",
    "MemoryRevocationStore",
    "RedisReplayCache",
    "RedisRevocationStore",
    "ReplayCache",
    "RevocationStore",
]
