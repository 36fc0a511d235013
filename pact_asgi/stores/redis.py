"""Redis-backed stores, shared by every worker and host of a provider.

Needs the optional extra: ``pip install 'pact-asgi[redis]'``. Importing this module
works without it; constructing a store does not.

Operational notes:

- Give the client a ``socket_timeout``: a Redis that hangs otherwise hangs requests.
  Bound its retries too: redis-py's default policy retries a refused connection ten
  times with backoff, so during an outage each request waits seconds for its 503.
- Run the replay database with ``maxmemory-policy noeviction`` (Redis's default). An
  evicting policy could drop a live nonce and reopen its replay window; with
  ``noeviction`` a full Redis refuses writes, and the provider refuses requests.
- Every failure to reach or use Redis raises
  :class:`~pact_asgi.errors.StoreUnavailableError` (HTTP 503): while Redis is down, the
  provider accepts no signed request at all. That is deliberate (fail closed).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pact_asgi.errors import ErrorCode, StoreUnavailableError
from pact_asgi.revocation import Revocation
from pact_asgi.stores.base import (
    Clock,
    ReplayCache,
    RevocationStore,
    check_aware,
    nonce_key,
    utc_now,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["MISSING_EXTRA", "RedisReplayCache", "RedisRevocationStore"]

logger = logging.getLogger(__name__)

MISSING_EXTRA = "the Redis stores need the redis package: pip install 'pact-asgi[redis]'"

# What a failing Redis raises: redis-py wraps socket errors in its own ConnectionError
# and TimeoutError, but an OSError can still surface from the transport.
_FAILURES: tuple[type[Exception], ...]
try:
    from redis.exceptions import RedisError
except ImportError:  # the optional extra is not installed
    _FAILURES = ()
else:
    _FAILURES = (RedisError, OSError)

_MILLISECOND = timedelta(milliseconds=1)


def _require_redis(client: object) -> None:
    if not _FAILURES:
        raise ImportError(MISSING_EXTRA)
    if client is None:
        raise TypeError("pass a redis.asyncio.Redis client")


class RedisReplayCache(ReplayCache):
    """A replay cache in Redis, shared by all instances that use the same prefix.

    Each claim is one ``SET key 1 NX PX <ms>``: atomic in Redis, so two instances
    racing on one pair see exactly one success, and Redis itself expires the key when
    ``until`` has passed (counted from this host's clock, as a relative time, so the
    Redis server's clock does not matter). The key is ``prefix`` plus the length of the
    key id, the key id and the nonce, e.g. ``pact:nonce:71:sha256:…:<nonce>``.
    """

    def __init__(
        self, client: Redis, *, prefix: str = "pact:nonce:", clock: Clock | None = None
    ) -> None:
        _require_redis(client)
        self._client = client
        self._prefix = prefix
        self._clock = clock or utc_now

    def key_for(self, key_id: str, nonce: str) -> str:
        """The Redis key under which the pair is recorded."""
        return self._prefix + nonce_key(key_id, nonce)

    async def claim(self, key_id: str, nonce: str, until: datetime) -> bool:
        """Record ``(key_id, nonce)`` until ``until``; False if it is already recorded.

        Raises:
            StoreUnavailableError: ``replay_store_unavailable`` on any Redis failure,
                a full Redis included.
            ValueError: ``until`` is naive.
        """
        check_aware(until)
        # A moment already past is still kept for a millisecond: PX must be positive.
        ttl_ms = max(1, math.ceil((until - self._clock()) / _MILLISECOND))
        try:
            created = await self._client.set(self.key_for(key_id, nonce), b"1", nx=True, px=ttl_ms)
        except _FAILURES as exc:
            logger.warning("replay store failed: %s: %s", type(exc).__name__, exc)
            raise StoreUnavailableError(
                ErrorCode.REPLAY_STORE_UNAVAILABLE, "replay store failed", key_id=key_id
            ) from exc
        return bool(created)


class RedisRevocationStore(RevocationStore):
    """Revocations in Redis: one hash per delegation, from revoker id to document.

    The key is ``prefix`` plus the delegation id; each field is a revoker id and its
    value the revocation's JSON, so an operator can see who revoked what and why
    (``HGETALL pact:revoked:d-…``). :meth:`lookup` asks for the fields of every id in
    one pipelined round trip. Keys never expire: a revocation outlives its delegation.
    """

    def __init__(self, client: Redis, *, prefix: str = "pact:revoked:") -> None:
        _require_redis(client)
        self._client = client
        self._prefix = prefix

    async def _store(self, revocation: Revocation) -> None:
        key = self._prefix + revocation.delegation_id
        try:
            await self._client.hset(key, revocation.revoked_by, revocation.to_json())
        except _FAILURES as exc:
            raise self._unavailable(exc) from exc
        logger.info(
            "revocation stored: delegation %s by %s",
            revocation.delegation_id,
            revocation.revoked_by,
        )

    async def lookup(self, delegation_ids: Sequence[str]) -> Mapping[str, frozenset[str]]:
        """For each given id that has revocations, the ids of its revokers.

        Raises:
            StoreUnavailableError: ``revocation_store_unavailable`` on any Redis failure,
                or when Redis holds a revoker id that is not UTF-8.
        """
        unique = list(dict.fromkeys(delegation_ids))
        if not unique:
            return {}
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for ident in unique:
                    pipe.hkeys(self._prefix + ident)
                replies = await pipe.execute()
        except _FAILURES as exc:
            raise self._unavailable(exc) from exc

        found: dict[str, frozenset[str]] = {}
        for ident, names in zip(unique, replies, strict=True):
            if names:
                found[ident] = frozenset(_text(name) for name in names)
        return found

    async def revocations(self, delegation_id: str) -> tuple[Revocation, ...]:
        """The stored revocation documents of one delegation, ordered by revoker id.

        Raises:
            StoreUnavailableError: ``revocation_store_unavailable`` on any Redis failure.
            MalformedError: a stored value is not a revocation document.
        """
        try:
            stored = await self._client.hgetall(self._prefix + delegation_id)
        except _FAILURES as exc:
            raise self._unavailable(exc) from exc
        by_revoker = {_text(name): _text(value) for name, value in stored.items()}
        return tuple(Revocation.from_json(by_revoker[name]) for name in sorted(by_revoker))

    @staticmethod
    def _unavailable(exc: Exception) -> StoreUnavailableError:
        logger.warning("revocation store failed: %s: %s", type(exc).__name__, exc)
        return StoreUnavailableError(
            ErrorCode.REVOCATION_STORE_UNAVAILABLE, "revocation store failed"
        )


def _text(value: bytes | str) -> str:
    """A reply as text, whether or not the client decodes responses itself."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Only someone with write access to Redis can put this there; refuse to guess.
        raise StoreUnavailableError(
            ErrorCode.REVOCATION_STORE_UNAVAILABLE, "revocation store holds non-UTF-8 data"
        ) from exc
