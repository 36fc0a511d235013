"""Trust policies: which root authorities a provider accepts (§8).

There is no default. A provider names its roots (:class:`TrustedRoots`), looks them
up in its own records (:class:`TrustResolver`, sync or async), or asks explicitly to
accept any root (:class:`AnyRoot`, logged at construction).
"""

from __future__ import annotations

import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable

from pact_asgi._encoding import b64url_decode
from pact_asgi.errors import ErrorCode, PactError, StoreUnavailableError
from pact_asgi.identity import Entity, Identity, derive_id

__all__ = ["AnyRoot", "TrustPolicy", "TrustResolver", "TrustedRoots", "as_trust_policy"]

logger = logging.getLogger(__name__)

Resolver = Callable[[str], "object | Awaitable[object] | None"]


class TrustPolicy(ABC):
    """Decides whether a chain's root authority is accepted, and what account it maps to.

    Subclass it to plug in your own policy. ``resolve`` answers synchronously and is
    used by :func:`pact_asgi.verify_chain`; ``aresolve`` is what the middleware awaits
    and by default calls ``resolve``. Both return an account object (anything that is
    not ``None``: it is handed to the application as ``root_account``) to accept the
    root, or ``None`` to refuse it. The root's id has already been checked against its
    public key when either is called.
    """

    is_async: bool = False

    @abstractmethod
    def resolve(self, root: Entity) -> object | None:
        """The account for an accepted root, or ``None`` to refuse it."""

    def may_accept(self, root: Entity) -> bool:
        """A cheap, synchronous first answer: False only for a root that is surely refused.

        Verifiers ask it before the costly checks of a chain not seen before, so that a
        stranger's self-signed chain costs no signature or narrowing work. The default
        knows nothing and says True; the real decision is still :meth:`resolve`.
        """
        return True

    async def aresolve(self, root: Entity) -> object | None:
        """Async form of :meth:`resolve`."""
        return self.resolve(root)


class TrustedRoots(TrustPolicy):
    """A fixed set of roots, given as ids, public keys, entities or identities."""

    def __init__(self, roots: Iterable[str | Entity | Identity]) -> None:
        if isinstance(roots, (str, Entity, Identity)):
            roots = [roots]
        ids: set[str] = set()
        for root in roots:
            ids.add(_root_id(root))
        if not ids:
            raise ValueError("TrustedRoots needs at least one root")
        self.ids = frozenset(ids)

    def resolve(self, root: Entity) -> object | None:
        """The root's id when it is one of the trusted roots, else ``None``."""
        return root.id if root.id in self.ids else None

    def may_accept(self, root: Entity) -> bool:
        """Whether the root is one of the trusted roots."""
        return root.id in self.ids

    def __repr__(self) -> str:
        return f"TrustedRoots({sorted(self.ids)!r})"


class AnyRoot(TrustPolicy):
    """Accept every root authority: any key pair can then authorize itself. Use with care."""

    def __init__(self) -> None:
        logger.warning("trust policy AnyRoot: chains from any root authority are accepted")

    def resolve(self, root: Entity) -> object | None:
        """Always the root's id."""
        return root.id


class TrustResolver(TrustPolicy):
    """Look roots up with a function of the root id, sync or async (e.g. a user database).

    The function returns the account for an accepted root or ``None``. A coroutine
    function makes the policy async: use it with the middleware or ``averify_chain``.
    """

    def __init__(self, resolver: Resolver) -> None:
        if not callable(resolver):
            raise TypeError("TrustResolver takes a function of the root id")
        self._resolver = resolver
        self.is_async = inspect.iscoroutinefunction(resolver) or inspect.iscoroutinefunction(
            type(resolver).__call__  # an object whose __call__ is async
        )

    def resolve(self, root: Entity) -> object | None:
        """Call the resolver; an async resolver cannot be answered synchronously."""
        if self.is_async:
            raise TypeError("this resolver is async: use averify_chain or the middleware")
        result: object = self._call(root)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()  # never awaited: close it rather than leak a warning
            raise TypeError("the resolver returned an awaitable: use averify_chain")
        return result

    async def aresolve(self, root: Entity) -> object | None:
        """Call the resolver and await it when it is async."""
        result: object = self._call(root)
        if inspect.isawaitable(result):
            try:
                answer: object = await result
            except Exception as exc:
                raise _unavailable(root) from exc
            return answer
        return result

    def _call(self, root: Entity) -> object:
        # The resolver is the provider's own code (a database, a directory). When it
        # fails, the request is refused as unavailable (503) and the failure is logged
        # with its traceback: neither let through nor reported as the agent's fault.
        try:
            return self._resolver(root.id)
        except Exception as exc:
            raise _unavailable(root) from exc


def _unavailable(root: Entity) -> StoreUnavailableError:
    logger.exception("trust resolver failed for root %s", root.id)
    return StoreUnavailableError(
        ErrorCode.TRUST_UNAVAILABLE, "trust resolver failed", key_id=root.id
    )


def as_trust_policy(value: TrustPolicy | Resolver) -> TrustPolicy:
    """Accept a policy as is, or wrap a resolver function in :class:`TrustResolver`."""
    if isinstance(value, TrustPolicy):
        return value
    if isinstance(value, type) and issubclass(value, TrustPolicy):
        # Called as a resolver, the class would return an instance: every root accepted.
        raise TypeError(f"trust takes a policy instance, {value.__name__}(...), not a class")
    if callable(value):
        return TrustResolver(value)
    raise TypeError("trust must be a TrustPolicy (TrustedRoots, AnyRoot) or a resolver")


def _root_id(root: str | Entity | Identity) -> str:
    if isinstance(root, (Entity, Identity)):
        return root.id
    if not isinstance(root, str):
        raise TypeError(f"a trusted root is an id, a public key or an entity, not {root!r}")
    if root.startswith("sha256:"):
        digits = root.removeprefix("sha256:")
        if len(digits) != 64 or digits.strip("0123456789abcdef"):
            raise ValueError(f"{root!r} is not an identity id (sha256: and 64 lowercase hex)")
        return root
    try:
        raw = b64url_decode(root)
    except PactError as exc:
        raise ValueError(f"{root!r} is neither an identity id nor a public key") from exc
    if len(raw) != 32:
        raise ValueError(f"{root!r} is not a 32-byte public key")
    return derive_id(raw)
