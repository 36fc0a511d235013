"""In-process stores: the default for a provider that runs as one process."""

from __future__ import annotations

import hashlib
import heapq
import logging
import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pact_asgi.errors import ErrorCode, StoreUnavailableError
from pact_asgi.stores.base import (
    Clock,
    ReplayCache,
    RevocationStore,
    check_aware,
    nonce_key,
    utc_now,
)

if TYPE_CHECKING:
    from pact_asgi.delegation import Delegation
    from pact_asgi.identity import Entity
    from pact_asgi.revocation import Revocation

__all__ = ["MemoryReplayCache", "MemoryRevocationStore"]

logger = logging.getLogger(__name__)

_DIGEST_SIZE = 16


class MemoryReplayCache(ReplayCache):
    """A bounded replay cache in this process's memory.

    Each pair is held as a 16-byte keyed BLAKE2b digest (about 100 bytes per entry in
    all), filed under the whole second at which it expires. Claims purge the seconds
    that have passed, so each entry is removed once, at a cost shared among the claims.
    A live entry is never evicted: when ``max_entries`` live pairs are held, further
    claims raise :class:`~pact_asgi.errors.StoreUnavailableError` until some expire.

    The digest key is random per instance, so nobody can prepare colliding pairs; a
    collision could only refuse a fresh request, never accept a replay. Entries are
    kept until the whole second after ``until``, never less than asked.

    Several workers or hosts need a shared store such as
    :class:`~pact_asgi.stores.RedisReplayCache`: each process here remembers only the
    requests it accepted itself.
    """

    def __init__(self, max_entries: int = 1_000_000, *, clock: Clock | None = None) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int):
            raise TypeError("max_entries must be an int")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock or utc_now
        self._digest_key = os.urandom(16)
        self._live: set[bytes] = set()
        self._by_second: dict[int, list[bytes]] = {}
        self._seconds: list[int] = []  # heap of the keys of _by_second
        # The check and the insert must not interleave with another thread's; within one
        # event loop nothing awaits between them, so the lock is never contended there.
        self._lock = threading.Lock()

    @property
    def max_entries(self) -> int:
        """The most live pairs held at once."""
        return self._max_entries

    def __len__(self) -> int:
        """Pairs held now, including expired ones that no claim has purged yet."""
        return len(self._live)

    async def claim(self, key_id: str, nonce: str, until: datetime) -> bool:
        """Record ``(key_id, nonce)`` until ``until``; False if it is already recorded.

        Raises:
            StoreUnavailableError: ``replay_store_unavailable`` when ``max_entries`` live
                pairs are held.
            ValueError: ``until`` is naive.
        """
        check_aware(until)
        now = self._clock().timestamp()
        pair = nonce_key(key_id, nonce).encode("utf-8", "surrogatepass")
        digest = hashlib.blake2b(pair, digest_size=_DIGEST_SIZE, key=self._digest_key).digest()
        # An entry is live while now < its second; one already past is kept for the next.
        second = max(math.ceil(until.timestamp()), math.floor(now) + 1)

        with self._lock:
            self._purge(now)
            if digest in self._live:
                return False
            if len(self._live) >= self._max_entries:
                logger.warning("replay cache full: %d live entries", len(self._live))
                raise StoreUnavailableError(
                    ErrorCode.REPLAY_STORE_UNAVAILABLE, "replay cache is full", key_id=key_id
                )
            self._live.add(digest)
            bucket = self._by_second.get(second)
            if bucket is None:
                bucket = self._by_second[second] = []
                heapq.heappush(self._seconds, second)
            bucket.append(digest)
        return True

    def _purge(self, now: float) -> None:
        seconds = self._seconds
        while seconds and seconds[0] <= now:
            self._live.difference_update(self._by_second.pop(heapq.heappop(seconds)))


class MemoryRevocationStore(RevocationStore):
    """Revocations held in this process's memory, e.g. loaded from files at start-up.

    Besides the async interface it answers synchronously (:meth:`revokers`,
    :meth:`snapshot`, :meth:`add_sync`) for callers without an event loop, such as the
    command line. Nothing is ever dropped: a revocation stays until the process ends.
    Feed :meth:`add` only from sources the provider trusts to be bounded (an operator,
    files); every stored revocation is verified, but anyone can sign revocations.
    """

    def __init__(
        self, revocations: Iterable[tuple[Revocation, Entity | Sequence[Delegation]]] = ()
    ) -> None:
        self._documents: dict[str, dict[str, Revocation]] = {}
        self._revokers: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()
        for revocation, revoker in revocations:
            self.add_sync(revocation, revoker)

    def add_sync(self, revocation: Revocation, revoker: Entity | Sequence[Delegation]) -> None:
        """:meth:`add` without awaiting: verify ``revocation``, then store it.

        Raises:
            RevocationError: as :meth:`add`.
        """
        self._check(revocation, revoker)
        self._put(revocation)

    async def _store(self, revocation: Revocation) -> None:
        self._put(revocation)

    def _put(self, revocation: Revocation) -> None:
        with self._lock:
            documents = self._documents.setdefault(revocation.delegation_id, {})
            documents[revocation.revoked_by] = revocation
            self._revokers[revocation.delegation_id] = frozenset(documents)
        logger.info(
            "revocation stored: delegation %s by %s",
            revocation.delegation_id,
            revocation.revoked_by,
        )

    async def lookup(self, delegation_ids: Sequence[str]) -> Mapping[str, frozenset[str]]:
        """For each given id that has revocations, the ids of its revokers."""
        revokers = self._revokers
        if not revokers:
            return {}
        return {ident: revokers[ident] for ident in delegation_ids if ident in revokers}

    async def revocations(self, delegation_id: str) -> tuple[Revocation, ...]:
        """The stored revocation documents of one delegation, ordered by revoker id."""
        documents = self._documents.get(delegation_id, {})
        return tuple(documents[revoker] for revoker in sorted(documents))

    def revokers(self, delegation_id: str) -> frozenset[str]:
        """The ids of the entities that revoked one delegation (empty when none did)."""
        return self._revokers.get(delegation_id, frozenset())

    def snapshot(self) -> dict[str, frozenset[str]]:
        """Every revoked delegation id with its revokers, as a new dict."""
        return dict(self._revokers)

    def __len__(self) -> int:
        """The number of delegations with at least one revocation."""
        return len(self._revokers)
