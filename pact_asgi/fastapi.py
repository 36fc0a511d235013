"""FastAPI integration: a route declares its capability as a dependency.

::

    CreatePull = Depends(require_capability("github:pr:create,repo={owner}/{repo}"))

    @app.post("/repos/{owner}/{repo}/pulls")
    async def create_pull(
        owner: str, repo: str, principal: Annotated[Principal, CreatePull]
    ) -> dict[str, str]: ...

``PactMiddleware`` finds the declaration in the route's dependencies before it calls
the app, and enforces it. The dependency checks again when it runs and returns the
:class:`~pact_asgi.Principal`; without the middleware it refuses to run at all.

The dependency is a FastAPI security scheme, so OpenAPI lists the ``Pact`` scheme on
the route. :func:`pact_security` also names the capability there, as the role of the
security requirement (OpenAPI 3.1 allows roles for non-OAuth schemes).

Needs the optional extra: ``pip install 'pact-asgi[fastapi]'``.
"""

from __future__ import annotations

from typing import Any

try:
    from fastapi import Request, Security
    from fastapi.openapi.models import HTTPBase
    from fastapi.security.base import SecurityBase
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("pact_asgi.fastapi needs FastAPI: pip install 'pact-asgi[fastapi]'") from exc

from pact_asgi.capability import CapabilityTemplate
from pact_asgi.principal import Principal, get_principal
from pact_asgi.routes import REQUIREMENT_ATTRIBUTE, Requirement, authorize

__all__ = [
    "SCHEME_NAME",
    "CapabilityRequirement",
    "get_principal",
    "pact_security",
    "require_capability",
]

SCHEME_NAME = "Pact"
_DESCRIPTION = (
    'Pact: an RFC 9421 HTTP message signature (tag "pact", ed25519) by an agent whose '
    "delegation chain, in the Pact-Chain header, grants the capability listed here."
)


class CapabilityRequirement(SecurityBase):
    """A FastAPI dependency that requires one capability template, e.g. ``"api:write"``.

    Raises:
        ValueError: the template is not valid capability grammar.
    """

    def __init__(self, template: str, *, scheme_name: str = SCHEME_NAME) -> None:
        self.template = CapabilityTemplate.parse(template)
        self.requirement = Requirement.of(self.template, f"require_capability({template!r})")
        self.model = HTTPBase(scheme="Pact", description=_DESCRIPTION)
        self.scheme_name = scheme_name
        # What PactMiddleware looks for in a route's dependencies.
        setattr(self, REQUIREMENT_ATTRIBUTE, (self.template,))

    async def __call__(self, request: Request) -> Principal:
        """The verified principal, once more checked to hold the capability.

        Raises:
            RuntimeError: the middleware did not verify this request.
            HTTPException: 403 when the capability is not covered.
        """
        return authorize(request, self.requirement)

    def __repr__(self) -> str:
        return f"require_capability({self.template.text!r})"


def require_capability(template: str) -> CapabilityRequirement:
    """The dependency for ``Depends(...)`` or ``Security(...)``: the route needs ``template``.

    Raises:
        ValueError: the template is not valid capability grammar.
    """
    return CapabilityRequirement(template)


def pact_security(template: str) -> Any:
    """``Security(require_capability(template))`` that also names the capability in OpenAPI.

    Use it as a default value, ``principal: Principal = pact_security("api:write")``, or
    in ``dependencies=[pact_security("api:write")]``.

    Raises:
        ValueError: the template is not valid capability grammar.
    """
    return Security(require_capability(template), scopes=[template])
