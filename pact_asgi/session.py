"""Session identities: short-lived keys that an agent's stored identity delegates to.

An agent keeps one long-lived identity on disk and the chain a human gave it. For a
run of work it opens a :class:`Session`: a fresh Ed25519 key held in memory only, and
one more link, signed by the stored identity, that hands the session key the same or
narrower capabilities for a short time. Requests are signed with the session key and
carry the longer chain; a provider sees one more link and needs no change.

    Human --delegation--> Agent (stored key) --session link--> Session (in memory)

``renew()`` replaces the key and the link; ``close()`` drops the key and refuses any
further signing. A session link allows no further delegation (its depth is 1).

With httpx, ``session.auth()`` signs each request with whatever key and chain the
session holds at that moment, so a renewal needs no new client::

    with Session.open(agent, chain) as session:
        client = httpx.Client(auth=session.auth())
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING

from pact_asgi.chain import verify_links
from pact_asgi.delegation import DEFAULT_LIMITS, Delegation
from pact_asgi.identity import Identity
from pact_asgi.signature import sign_request

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_SESSION_TTL", "MAX_SESSION_TTL", "Session", "SessionClosedError"]

logger = logging.getLogger(__name__)

DEFAULT_SESSION_TTL = timedelta(minutes=15)
MAX_SESSION_TTL = timedelta(days=1)
"""Sessions are meant to be short; a longer grant belongs in a delegation from a human."""


class SessionClosedError(ValueError):
    """The session was closed: its key is gone and it signs nothing more."""


@dataclass(frozen=True)
class _State:
    # One object swapped as a whole, so a reader never pairs a new key with an old chain.
    identity: Identity
    chain: tuple[Delegation, ...]
    expires_at: datetime


class Session:
    """An ephemeral identity delegated from an agent's stored identity for a short time."""

    __slots__ = (
        "_auto_renew",
        "_capabilities",
        "_lock",
        "_parent",
        "_parent_expires",
        "_root",
        "_state",
        "_ttl",
    )

    def __init__(
        self,
        root: Identity,
        parent: tuple[Delegation, ...],
        capabilities: tuple[str, ...],
        ttl: timedelta,
        auto_renew: bool,
    ) -> None:
        # Use Session.open(): it checks the stored chain before the first link is signed.
        self._root: Identity | None = root
        self._parent = parent
        self._parent_expires = min(link.expires for link in parent)
        self._capabilities = capabilities
        self._ttl = ttl
        self._auto_renew = auto_renew
        self._lock = threading.Lock()
        self._state: _State | None = None

    @classmethod
    def open(
        cls,
        root: Identity,
        chain: Sequence[Delegation],
        *,
        ttl: timedelta = DEFAULT_SESSION_TTL,
        capabilities: Sequence[str] | None = None,
        auto_renew: bool = True,
        now: datetime | None = None,
    ) -> Session:
        """Create a session key and delegate to it from ``root``, the chain's last delegate.

        ``capabilities`` defaults to those of the chain's last link; given, each must be
        covered by one of them. The session link expires after ``ttl``, or earlier when
        the stored chain does. With ``auto_renew`` (the default), signing renews the
        session shortly before its link expires.

        Raises:
            ValueError: the chain is empty, not delegated to ``root``, expired, allows no
                further link, or ``capabilities`` would widen it.
            PactError: a link of the stored chain does not verify (bad signature, broken
                continuity, widened capabilities).
        """
        if isinstance(capabilities, str):
            raise TypeError("capabilities is a sequence of strings, not one string")
        if not timedelta(0) < ttl <= MAX_SESSION_TTL:
            raise ValueError(f"a session ttl must be positive and at most {MAX_SESSION_TTL}")
        parent = tuple(chain)
        if not parent:
            raise ValueError("a session needs the chain that delegates to the stored identity")
        last = parent[-1]
        if not root.entity.same_key(last.to_entity):
            raise ValueError(
                f"the stored chain delegates to {last.to_entity.id}, not to this identity "
                f"({root.id})"
            )
        if len(parent) >= DEFAULT_LIMITS.max_links:
            raise ValueError(
                f"the stored chain already has {len(parent)} links; a session would exceed "
                f"the limit of {DEFAULT_LIMITS.max_links}"
            )
        _check_room(parent)
        verify_links(parent)
        wanted = tuple(capabilities) if capabilities is not None else last.capabilities
        session = cls(root, parent, wanted, ttl, auto_renew)
        session.renew(now=now)
        return session

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._root is None

    @property
    def identity(self) -> Identity:
        """The current ephemeral identity (it changes on :meth:`renew`).

        Raises:
            SessionClosedError: the session is closed.
        """
        return self._current().identity

    @property
    def chain(self) -> tuple[Delegation, ...]:
        """The stored chain plus the current session link, root first.

        Raises:
            SessionClosedError: the session is closed.
        """
        return self._current().chain

    @property
    def expires_at(self) -> datetime:
        """When the current session chain stops verifying.

        Raises:
            SessionClosedError: the session is closed.
        """
        return self._current().expires_at

    @property
    def capabilities(self) -> tuple[str, ...]:
        """The capabilities the session link grants."""
        return self._capabilities

    def credentials(
        self, *, now: datetime | None = None
    ) -> tuple[Identity, tuple[Delegation, ...]]:
        """The identity and chain to sign with at ``now``, read together.

        With ``auto_renew``, a session whose link has less than a tenth of its ttl left
        is renewed first, as long as the stored chain outlives that link.

        Raises:
            SessionClosedError: the session is closed.
            ValueError: the session chain has expired at ``now`` and cannot be renewed.
        """
        moment = now or datetime.now(timezone.utc)
        state = self._current()
        fading = state.expires_at - moment < self._ttl / 10
        # Renewing gains nothing once the link already runs to the stored chain's end.
        if self._auto_renew and fading and self._parent_expires > state.expires_at:
            self.renew(now=moment)
            state = self._current()
        if moment >= state.expires_at:
            raise ValueError(
                f"the session chain expired at {state.expires_at.isoformat()}: "
                + (
                    "renew() it"
                    if self._parent_expires > moment
                    else "the stored chain has expired too; ask for a new delegation"
                )
            )
        return state.identity, state.chain

    def renew(self, *, now: datetime | None = None) -> None:
        """Replace the session key and its link with fresh ones.

        The old chain is not revoked: it keeps verifying until its own expiry, so a
        request signed just before the renewal still lands.

        Raises:
            SessionClosedError: the session is closed.
            ValueError: the stored chain has expired.
        """
        with self._lock:
            root = self._root
            if root is None:
                raise SessionClosedError("this session is closed; open a new one")
            key = Identity.generate(type="agent", name=_session_name(root))
            try:
                link = Delegation.issue(
                    root,
                    key,
                    self._capabilities,
                    ttl=self._ttl,
                    max_chain_depth=1,
                    parent=self._parent,
                    now=now,
                )
            except ValueError as exc:
                raise ValueError(f"cannot delegate to a session key: {exc}") from exc
            chain = (*self._parent, link)
            self._state = _State(key, chain, min(item.expires for item in chain))
        logger.debug("session %s delegated until %s", key.id, link.expires.isoformat())

    def close(self) -> None:
        """Drop the session key and the stored identity; later use raises.

        Python cannot wipe memory: this keeps no reference of ours to the key, so it
        is freed once the last request using it is done.
        """
        with self._lock:
            self._state = None
            self._root = None

    def sign_request(
        self,
        *,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        created: datetime | None = None,
        expires: datetime | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        """Signature headers for one request, made with the session key and chain.

        The arguments are those of :func:`pact_asgi.signature.sign_request`. With
        ``auto_renew`` the session renews itself first when its link is about to expire.

        Raises:
            SessionClosedError: the session is closed.
            ValueError: the session chain has expired (and could not be renewed), or a
                value cannot be signed.
        """
        identity, chain = self.credentials(now=created)
        return sign_request(
            identity,
            chain,
            method=method,
            url=url,
            headers=headers,
            body=body,
            created=created,
            expires=expires,
            nonce=nonce,
        )

    def auth(self) -> httpx.Auth:
        """An ``httpx.Auth`` that signs each request with the session's current key.

        It is :class:`~pact_asgi.client.PactAuth` (redirect handling included) applied
        with the credentials of the moment, so renewals take effect on the next request.

        Raises:
            ImportError: httpx is not installed (the ``client`` extra).
        """
        auth: httpx.Auth = _session_auth_type()(self)
        return auth

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = self._state
        if state is None:
            return "Session(closed)"
        return f"Session(id={state.identity.id!r}, expires_at={state.expires_at.isoformat()!r})"

    def _current(self) -> _State:
        state = self._state
        if state is None:
            raise SessionClosedError("this session is closed; open a new one")
        return state


def _check_room(chain: tuple[Delegation, ...]) -> None:
    # §3 rule 5: link i allows at most max_chain_depth links from itself to the end; the
    # session link adds one, so each link needs room for len(chain) - i + 1.
    for i, link in enumerate(chain):
        needed = len(chain) - i + 1
        if link.max_chain_depth < needed:
            raise ValueError(
                f"link {i} of the stored chain ({link.id}, from "
                f"{link.from_entity.name or link.from_entity.id}) allows "
                f"{link.max_chain_depth} link(s) below it, so no session link can be added; "
                f"ask its issuer to delegate again with a max chain depth of at least "
                f"{needed} (pact delegate --max-depth {needed})"
            )


def _session_name(root: Identity) -> str:
    return f"{root.name} session" if root.name else "session"


@functools.cache
def _session_auth_type() -> Callable[[Session], httpx.Auth]:
    # Built on first use, so that this module imports without httpx (an extra).
    import httpx

    from pact_asgi.client import PactAuth

    class SessionAuth(httpx.Auth):
        """``PactAuth`` with the session's credentials of the moment."""

        requires_request_body = True

        def __init__(self, session: Session) -> None:
            self.session = session

        def auth_flow(
            self, request: httpx.Request
        ) -> Generator[httpx.Request, httpx.Response, None]:
            """Sign ``request`` with the session's current key and chain."""
            yield from self._current().auth_flow(request)

        def redirect_hook(self, request: httpx.Request) -> None:
            """See :meth:`PactAuth.redirect_hook`."""
            self._current().redirect_hook(request)

        async def async_redirect_hook(self, request: httpx.Request) -> None:
            """See :meth:`PactAuth.async_redirect_hook`."""
            await self._current().async_redirect_hook(request)

        def _current(self) -> PactAuth:
            identity, chain = self.session.credentials()
            return PactAuth(identity, chain)

    return SessionAuth
