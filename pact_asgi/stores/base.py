"""The two store interfaces a provider keeps state in: replay cache and revocation list."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from pact_asgi.identity import Entity

if TYPE_CHECKING:
    from pact_asgi.delegation import Delegation
    from pact_asgi.revocation import Revocation

__all__ = ["Clock", "ReplayCache", "RevocationStore"]

Clock = Callable[[], datetime]
"""A source of the current time as an aware UTC datetime; tests pass their own."""


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def check_aware(moment: datetime) -> None:
    """Refuse a naive datetime: a store cannot guess which zone it meant."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("until must be a timezone-aware datetime")


def nonce_key(key_id: str, nonce: str) -> str:
    """One unambiguous text for the pair ``(key_id, nonce)``.

    The length of ``key_id`` comes first, so no content of either part (a ``:`` in the
    key id, say) can make two different pairs produce the same text.
    """
    return f"{len(key_id)}:{key_id}:{nonce}"


class ReplayCache(ABC):
    """Remembers each ``(keyid, nonce)`` of an accepted request while it could be replayed.

    Protocol §4: a provider accepts each pair at most once while the signature could
    still be fresh. The middleware calls :meth:`claim` only after the request signature
    has verified, so unsigned traffic cannot fill the cache, and passes as ``until`` the
    last moment at which the signature would still pass the freshness check (``created``
    plus maximum age plus skew, or ``expires`` plus skew when that is earlier).

    An implementation must:

    - make :meth:`claim` atomic: two concurrent claims of one pair, from one process or
      several sharing the store, yield exactly one ``True``;
    - keep a pair at least until ``until`` (longer is harmless, shorter reopens the
      replay window);
    - never evict a live pair to make room, and never answer ``True`` when it cannot be
      sure: a full or failing store raises :class:`~pact_asgi.errors.StoreUnavailableError`
      with ``replay_store_unavailable`` and the provider refuses the request (fail closed).

    :class:`~pact_asgi.stores.MemoryReplayCache` serves one process;
    :class:`~pact_asgi.stores.RedisReplayCache` serves several workers or hosts.
    """

    @abstractmethod
    async def claim(self, key_id: str, nonce: str, until: datetime) -> bool:
        """Record ``(key_id, nonce)`` until ``until``; False if it is already recorded.

        ``until`` is an aware datetime. A moment already past is still recorded briefly
        rather than refused.

        Raises:
            StoreUnavailableError: ``replay_store_unavailable`` when the store is full or
                failing; the request must be refused.
            ValueError: ``until`` is naive.
        """


class RevocationStore(ABC):
    """Holds verified revocations (protocol §7) and answers which delegations they name.

    :meth:`add` checks the revocation's signature against the revoker's key before it
    stores anything, so every revoker id that :meth:`lookup` returns really signed a
    revocation of that delegation. Whether that revoker was *entitled* to revoke the
    link (the issuer of that link or of an earlier one) depends on the chain, so the
    chain check decides it from the mapping :meth:`lookup` returns.

    :meth:`lookup` runs on every request. A store that cannot answer raises
    :class:`~pact_asgi.errors.StoreUnavailableError` (``revocation_store_unavailable``):
    a provider whose revocation store fails refuses requests rather than accept a chain
    that might have been revoked.
    """

    async def add(self, revocation: Revocation, revoker: Entity | Sequence[Delegation]) -> None:
        """Verify ``revocation``, then store it.

        A revocation names its revoker by id only, so the key to check it with comes
        from ``revoker``: the revoker's entity, or a chain holding the revoked link, in
        which case the revoker must also be entitled to revoke it (§7: the issuer of that
        link or of a link above it). Adding the same revocation twice is harmless; a
        newer revocation by the same revoker of the same delegation replaces the older.

        Raises:
            RevocationError: ``revocation_invalid`` when ``revoked_by`` is not
                ``revoker.id`` or the signature does not verify under ``revoker``'s key;
                ``revocation_unauthorized`` when a given chain does not entitle it.
            StoreUnavailableError: ``revocation_store_unavailable`` when the store fails.
        """
        self._check(revocation, revoker)
        await self._store(revocation)

    @staticmethod
    def _check(revocation: Revocation, revoker: Entity | Sequence[Delegation]) -> None:
        """Raise unless the revocation is signed by the revoker it names (and entitled)."""
        if isinstance(revoker, Entity):
            revocation.verify(revoker)
        else:
            revocation.verify_for_chain(revoker)

    @abstractmethod
    async def _store(self, revocation: Revocation) -> None:
        """Persist a revocation whose signature :meth:`add` has checked."""

    @abstractmethod
    async def lookup(self, delegation_ids: Sequence[str]) -> Mapping[str, frozenset[str]]:
        """For each given id that has revocations, the ids of its revokers.

        Ids without any revocation are absent from the result.

        Raises:
            StoreUnavailableError: ``revocation_store_unavailable`` when the store fails;
                the request must be refused.
        """

    @abstractmethod
    async def revocations(self, delegation_id: str) -> tuple[Revocation, ...]:
        """The stored revocation documents of one delegation, for operators.

        Raises:
            StoreUnavailableError: ``revocation_store_unavailable`` when the store fails.
        """
