"""The agent side for httpx: :class:`PactAuth` signs every request it is given.

``auth_flow`` does no I/O, so one generator serves ``httpx.Client`` and
``httpx.AsyncClient``. It signs the whole request, body included (RFC 9530
``Content-Digest``), with :func:`pact_asgi.signature.sign_request`.

Redirects need care, because httpx applies an ``Auth`` once per ``send()`` and then
follows redirects itself, copying every header but ``Authorization`` (and ``Cookie``)
to the next hop. Left alone, the signature and the delegation chain would travel to
whatever origin a ``Location`` names, where they could be replayed against the
origin they were made for. So:

- With ``follow_redirects=False`` (httpx's default) nothing leaves unsigned or
  mis-signed: sending ``response.next_request`` re-signs it when it stays on the
  origin the request was first signed for, and sends it unsigned when it does not.
- With ``follow_redirects=True``, install :meth:`PactAuth.redirect_hook` (or
  :meth:`PactAuth.async_redirect_hook`) as a request event hook: it does the same
  for every hop. Without it, a hop that carried the signature to another origin
  raises :class:`PactRedirectError` once the response arrives: too late to take the
  request back, but loud.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Generator, Sequence
from dataclasses import dataclass

try:
    import httpx
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "pact_asgi.client needs httpx: install the extra with pip install 'pact-asgi[client]'"
    ) from exc

from pact_asgi.delegation import Delegation
from pact_asgi.identity import Identity
from pact_asgi.signature import sign_request

__all__ = ["PactAuth", "PactRedirectError"]

logger = logging.getLogger(__name__)

_PACT_FIELDS = ("Pact-Chain", "Content-Digest", "Signature-Input", "Signature")
_STATE = "pact_asgi.signed"  # a key of request.extensions, which httpx shares with redirects
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int | None]


class PactRedirectError(httpx.HTTPError):
    """httpx followed a redirect to another origin carrying this request's signature."""


@dataclass(frozen=True)
class _Signed:
    """What the auth remembers about the request it signed, kept in its extensions."""

    origin: Origin
    signature_input: str
    request: weakref.ref[httpx.Request]


def _origin(url: httpx.URL) -> Origin:
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme))


def _may_follow(first: Origin, target: Origin) -> bool:
    # The rule httpx applies to Authorization: the same origin, or the same host moved
    # from http on port 80 to https on port 443.
    upgrade = first[0] == "http" and target[0] == "https" and first[2] == 80
    return target == first or (upgrade and target[1:] == (first[1], 443))


class PactAuth(httpx.Auth):
    """An ``httpx.Auth`` that signs each request as ``identity`` under ``chain`` (§4)."""

    requires_request_body = True

    def __init__(self, identity: Identity, chain: Sequence[Delegation]) -> None:
        if not chain:
            raise ValueError("a chain has at least one delegation")
        if chain[-1].to_entity.id != identity.id:
            raise ValueError("the identity must be the delegate of the chain's last link")
        self._identity = identity
        self._chain = tuple(chain)

    @property
    def agent_id(self) -> str:
        """The id of the agent that signs."""
        return self._identity.id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign ``request`` (or send a cross-origin redirect unsigned), then check hops.

        Raises:
            PactRedirectError: the client followed a redirect to another origin with
                the signature still attached (install :meth:`redirect_hook`).
        """
        self._sign_or_strip(request)
        response = yield request
        self._check_hops(response)

    def redirect_hook(self, request: httpx.Request) -> None:
        """A request event hook that re-signs or unsigns the hops of a followed redirect."""
        if self._is_hop(request):
            request.read()  # the original's buffered body, or none after a switch to GET
            self._sign_or_strip(request)

    async def async_redirect_hook(self, request: httpx.Request) -> None:
        """:meth:`redirect_hook` for ``httpx.AsyncClient``, whose event hooks are async."""
        if self._is_hop(request):
            await request.aread()
            self._sign_or_strip(request)

    @staticmethod
    def _is_hop(request: httpx.Request) -> bool:
        """True for a request httpx built from a signed one: it carries that signature."""
        state = request.extensions.get(_STATE)
        return (
            isinstance(state, _Signed)
            and state.request() is not request
            and request.headers.get("Signature-Input") == state.signature_input
        )

    def _sign_or_strip(self, request: httpx.Request) -> None:
        state = request.extensions.get(_STATE)
        carried = (
            isinstance(state, _Signed)
            and request.headers.get("Signature-Input") == state.signature_input
        )
        # A request made from a signed one keeps the origin first signed for; any
        # other request is signed for its own.
        first = state.origin if carried and isinstance(state, _Signed) else _origin(request.url)
        for name in _PACT_FIELDS:
            request.headers.pop(name, None)
        if not _may_follow(first, _origin(request.url)):
            logger.warning(
                "not signing a redirect from %s to %s: another origin", first[1], request.url.host
            )
            return

        host = request.headers.get("Host")
        headers = sign_request(
            self._identity,
            self._chain,
            method=request.method,
            url=str(request.url),
            headers=None if host is None else {"Host": host},
            body=request.content,
        )
        request.headers.update(headers)
        request.extensions[_STATE] = _Signed(
            origin=first,
            signature_input=headers["Signature-Input"],
            request=weakref.ref(request),
        )

    def _check_hops(self, response: httpx.Response) -> None:
        # Followed redirects show up in the history; any hop to another origin that
        # still carries a signature made by this auth has leaked it.
        state = response.request.extensions.get(_STATE)
        if not isinstance(state, _Signed):
            return
        hops = [earlier.request for earlier in response.history[1:]] + [response.request]
        for hop in hops if response.history else ():
            leaked = hop.headers.get("Signature-Input") == state.signature_input
            if leaked and not _may_follow(state.origin, _origin(hop.url)):
                error = PactRedirectError(
                    f"httpx followed a redirect to {hop.url.host} with the Pact signature "
                    "attached; install PactAuth.redirect_hook or keep follow_redirects=False"
                )
                error.request = hop
                raise error
