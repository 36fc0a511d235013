"""Which capability each request needs (protocol §6), and which paths are public.

A provider declares requirements in three ways, all capability templates such as
``github:pr:create,repo={owner}/{repo}``:

- a map given to the middleware, from ``"METHOD /path/{param}"`` (Starlette path
  syntax, ``*`` for any method) to a template;
- ``@requires_capability(...)`` on a Starlette endpoint (function or ``HTTPEndpoint``
  class or method);
- a FastAPI dependency, ``Depends(require_capability(...))`` (see ``pact_asgi.fastapi``).

Requests are matched with Starlette's own machinery: ``compile_path`` for the map and
``route.matches`` over the application's routes, mounts included, so templates are
filled from the same path parameters the handler receives. Every declaration that
matches a request applies, map entries and the route's own alike: the agent needs all
of them. A request that matches none is refused (deny by default).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.convertors import Convertor
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, Host, Match, Mount, WebSocketRoute, compile_path
from starlette.types import Scope

from pact_asgi.capability import Capability, CapabilityTemplate, find_cover
from pact_asgi.errors import PactError
from pact_asgi.principal import Principal, get_principal

__all__ = [
    "REQUIREMENT_ATTRIBUTE",
    "Requirement",
    "RouteRequirements",
    "authorize",
    "requires_capability",
    "route_path",
]

REQUIREMENT_ATTRIBUTE = "__pact_capabilities__"
"""Attribute holding a tuple of :class:`CapabilityTemplate` on a declaring callable."""

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Found = list[tuple["Requirement", Mapping[str, Any]]]
"""Matching declarations with the path parameters each is filled from."""
_Matched = tuple[Match, BaseRoute, Mapping[str, Any]]

_METHOD = re.compile(r"[A-Z]+|\*")
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
_MAX_MOUNT_DEPTH = 32
_FILLED_PER_REQUIREMENT = 1024


@dataclass(frozen=True, slots=True)
class Requirement:
    """One declared capability template, with where it was declared (for logs)."""

    template: CapabilityTemplate
    source: str
    fixed: Capability | None = None  # the filled capability when there are no parameters
    names: tuple[str, ...] = ()  # the template's parameters, in a fixed order
    _filled: dict[tuple[object, ...], Capability] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def of(cls, template: CapabilityTemplate, source: str) -> Requirement:
        """A requirement; a template without parameters is filled once, here."""
        fixed = None if template.parameters else template.fill({})
        return cls(template, source, fixed, tuple(sorted(template.parameters)))

    def capability(self, params: Mapping[str, Any]) -> Capability:
        """The required capability for these path parameters; values stay literal.

        Raises:
            AuthorizationError: ``capability_denied`` for a parameter that cannot fill
                a scope segment.
        """
        fixed = self.fixed
        if fixed is not None:
            return fixed
        # Filling builds a capability (about 8 µs); an agent tends to repeat its paths.
        # The type is part of the key: 5 and 5.0 are equal but fill differently.
        key = tuple((type(value), value) for value in map(params.get, self.names))
        found = self._filled.get(key)
        if found is None:
            found = self.template.fill(params)  # raises, and so caches nothing, when refused
            if len(self._filled) >= _FILLED_PER_REQUIREMENT:
                self._filled.clear()  # bounded; whatever the paths, memory stays small
            self._filled[key] = found
        return found


@dataclass(frozen=True, slots=True)
class _MapEntry:
    methods: frozenset[str] | None  # None: any method
    path: str
    prefix: str  # the literal text before the first parameter: a cheap first filter
    regex: re.Pattern[str]
    convertors: dict[str, Convertor[Any]]
    requirement: Requirement


@dataclass(frozen=True, slots=True)
class _Declared:
    """What one application route declares: for every method, or per handler method."""

    route: BaseRoute
    default: tuple[Requirement, ...]
    by_method: Mapping[str, tuple[Requirement, ...]]


def route_path(scope: Scope) -> str:
    """The request path relative to ``root_path``, as Starlette's router sees it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path


class RouteRequirements:
    """The requirement map and the public paths, compiled once.

    ``routes`` maps ``"METHOD /path"`` to a template; ``public`` lists paths that need no
    signature, exact (``"/health"``) or, ending in ``*``, a prefix (``"/static/*"``).

    Raises:
        ValueError: a malformed key, path, template, or a template parameter that the
            path does not provide.
    """

    def __init__(
        self, routes: Mapping[str, str] | None = None, public: Iterable[str] = ()
    ) -> None:
        if isinstance(public, str):
            raise TypeError("public is a collection of paths, not one string")
        entries = []
        for key, template in (routes or {}).items():
            entries.append(_compile_entry(key, template))
        self._entries = tuple(entries)
        exact: set[str] = set()
        prefixes: list[str] = []
        for item in public:
            if not isinstance(item, str) or not item.startswith("/"):
                raise ValueError(f"public path {item!r} must start with '/'")
            if "*" in item[:-1]:
                raise ValueError(f"public path {item!r}: '*' may only end a prefix")
            if item.endswith("*"):
                prefixes.append(item[:-1])
            else:
                exact.add(item)
        self._public_exact = frozenset(exact)
        self._public_prefixes = tuple(prefixes)
        self._declared: dict[int, _Declared] = {}

    @property
    def has_map(self) -> bool:
        """Whether the requirement map has any entry."""
        return bool(self._entries)

    def is_public(self, path: str) -> bool:
        """Whether ``path`` (relative to ``root_path``) needs no signature."""
        if path in self._public_exact:
            return True
        for prefix in self._public_prefixes:
            if path.startswith(prefix):
                # A dot segment could name, after normalisation by some later layer, a
                # path outside the prefix: such a path is not public (fail closed).
                return not _has_dot_segment(path)
        return False

    def find(self, scope: Scope, app_routes: Sequence[BaseRoute] | None) -> Found:
        """Every declaration that applies to this HTTP request, with its parameters."""
        path = route_path(scope)
        method: str = scope["method"]
        found: Found = []
        for entry in self._entries:
            if not path.startswith(entry.prefix):
                continue
            if entry.methods is not None and method not in entry.methods:
                continue
            match = entry.regex.match(path)
            if match is None:
                continue
            converted = _convert(match.groupdict(), entry.convertors)
            if converted is not None:
                found.append((entry.requirement, converted))
        if app_routes:
            matched = _match(scope, app_routes, 0)
            if matched is not None:
                _, route, params = matched
                declared = self._declared_by(route)
                for requirement in declared.by_method.get(method, declared.default):
                    found.append((requirement, params))
        return found

    def review(self, app_routes: Sequence[BaseRoute]) -> list[str]:
        """Check the application's declarations; list routes that declare nothing.

        Routes that are public or matched by a map entry are not listed.

        Raises:
            ValueError: a route declares a template with a parameter it does not have.
            TypeError: a declaration attribute that is not a tuple of templates.
        """
        undeclared = []
        for path, route, params in _walk(app_routes, "", frozenset(), 0):
            if self.is_public(path):
                continue
            if route is None:  # nothing to look into: only the map can declare
                if not self._mapped(path):
                    undeclared.append(f"* {path}")
                continue
            declared = self._declared_by(route)
            templates = [r for rs in (declared.default, *declared.by_method.values()) for r in rs]
            for requirement in templates:
                missing = requirement.template.parameters - params
                if missing:
                    raise ValueError(
                        f"route {path}: template {requirement.template.text!r} uses "
                        f"{sorted(missing)}, which the path does not provide"
                    )
            if not templates and not self._mapped(path):
                methods = getattr(route, "methods", None)
                label = ",".join(sorted(methods)) if methods else "*"
                undeclared.append(f"{label} {path}")
        return undeclared

    def _mapped(self, path: str) -> bool:
        return any(e.path == path or e.regex.match(path) for e in self._entries)

    def _declared_by(self, route: BaseRoute) -> _Declared:
        # Keyed by id: Starlette routes define __eq__ and so are unhashable. The entry
        # keeps the route alive, so its id cannot be reused while it is cached.
        found = self._declared.get(id(route))
        if found is None or found.route is not route:
            found = self._declared[id(route)] = _declarations(route)
        return found


def _compile_entry(key: str, template: str) -> _MapEntry:
    if not isinstance(key, str) or not isinstance(template, str):
        raise TypeError("routes maps 'METHOD /path' strings to template strings")
    method_text, _, path = key.partition(" ")
    methods = frozenset(m for m in method_text.split(",") if m)
    if not methods or not all(_METHOD.fullmatch(m) for m in methods) or not path:
        raise ValueError(f"route key {key!r} is not 'METHOD /path' (METHOD may be '*')")
    if not path.startswith("/") or " " in path:
        raise ValueError(f"route key {key!r}: the path must start with '/'")
    try:
        regex, _, convertors = compile_path(path)
    except (ValueError, AssertionError) as exc:  # Starlette asserts on unknown convertors
        raise ValueError(f"route key {key!r}: {exc}") from exc
    parsed = CapabilityTemplate.parse(template)
    missing = parsed.parameters - convertors.keys()
    if missing:
        raise ValueError(f"route {key!r}: template uses {sorted(missing)}, not in the path")
    if "*" in methods:
        if len(methods) > 1:
            raise ValueError(f"route key {key!r}: '*' stands alone")
        allowed: frozenset[str] | None = None
    else:
        # Starlette answers HEAD wherever it answers GET; so must the requirement.
        allowed = methods | {"HEAD"} if "GET" in methods else methods
    brace = path.find("{")
    return _MapEntry(
        methods=allowed,
        path=path,
        prefix=path if brace < 0 else path[:brace],
        regex=regex,
        convertors=convertors,
        requirement=Requirement.of(parsed, f"routes[{key!r}]"),
    )


def _convert(
    raw: dict[str, str], convertors: Mapping[str, Convertor[Any]]
) -> dict[str, Any] | None:
    params: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            params[name] = convertors[name].convert(value)
        except ValueError:
            # int() refuses more than 4300 digits (CPython's limit): no such route.
            return None
    return params


def _expand(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes, with FastAPI's included routers replaced by the routes they stand for.

    Since FastAPI 0.16x, ``include_router`` adds one route that dispatches to the
    router's routes, each seen through an "effective" context that carries the include's
    prefix and dependencies. Its public ``effective_route_contexts`` lists them, in the
    order FastAPI matches them. Should that change, the included router is matched as
    an opaque route that declares nothing: refused, never let through.
    """
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if not callable(contexts):
            yield route
            continue
        for context in contexts():
            # Non-FastAPI routes (a Mount, a plain Route) keep their Starlette form.
            inner = getattr(context, "starlette_route", None)
            yield inner if inner is not None else context


def _match(scope: Scope, routes: Iterable[BaseRoute], depth: int) -> _Matched | None:
    """The route Starlette's router would dispatch to, with its path parameters.

    As the router does: the first full match wins, else the first partial one (a
    method mismatch, which the application answers with 405). A full match on a mount
    ends the search there, found inside or not.
    """
    partial: _Matched | None = None
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # a FastAPI included router
            inner = _match(scope, _expand((route,)), depth)
            if inner is not None and inner[0] is Match.FULL:
                return inner
            partial = partial or inner
            continue
        try:
            match, child = route.matches(scope)
        except ValueError:  # a path convertor refusing its value (see _convert)
            continue
        if match is Match.NONE:
            continue
        if isinstance(route, (Mount, Host)):
            if depth >= _MAX_MOUNT_DEPTH:
                return None
            return _match({**scope, **child}, route.routes, depth + 1)
        found = (match, route, child.get("path_params", {}))
        if match is Match.FULL:
            return found
        partial = partial or found
    return partial


def _walk(
    routes: Sequence[BaseRoute], prefix: str, params: frozenset[str], depth: int
) -> Iterator[tuple[str, BaseRoute | None, frozenset[str]]]:
    """Every endpoint route with its full path and the parameters available to it.

    ``None`` in place of a route marks what cannot be looked into: a mounted app
    without routes, or a route of an unknown kind.
    """
    for route in _expand(routes):
        if isinstance(route, (Mount, Host)):
            names = params | (set(route.param_convertors) - {"path"})
            full = prefix + route.path if isinstance(route, Mount) else prefix
            inner = route.routes
            if not inner and isinstance(route, Mount):
                yield full + "/{path}", None, names
            elif depth < _MAX_MOUNT_DEPTH:
                yield from _walk(inner, full, frozenset(names), depth + 1)
        elif isinstance(route, WebSocketRoute):
            continue  # the middleware refuses WebSocket connections unless public
        else:
            path = getattr(route, "path", None)
            if isinstance(path, str):
                convertors = getattr(route, "param_convertors", {})
                yield prefix + path, route, params | frozenset(convertors)
            else:
                yield f"{prefix} ({type(route).__name__})", None, params


def _declarations(route: BaseRoute) -> _Declared:
    endpoint = getattr(route, "endpoint", None)
    name = getattr(route, "path", type(route).__name__)
    templates = list(_templates_of(endpoint))
    dependant = getattr(route, "dependant", None)
    if dependant is not None:  # FastAPI: dependencies at app, router and route level
        templates.extend(_templates_in_dependant(dependant))
    default = _requirements(templates, name)
    by_method: dict[str, tuple[Requirement, ...]] = {}
    if inspect.isclass(endpoint):
        # HTTPEndpoint: a decorated handler method adds to the class's declarations.
        for method in _HTTP_METHODS:
            handler_name = method.lower()
            if method == "HEAD" and not hasattr(endpoint, "head"):
                handler_name = "get"  # as HTTPEndpoint dispatches HEAD
            handler = getattr(endpoint, handler_name, None)
            extra = list(_templates_of(handler))
            if extra:
                by_method[method] = _requirements(templates + extra, name)
    return _Declared(route=route, default=default, by_method=by_method)


def _requirements(templates: list[CapabilityTemplate], name: str) -> tuple[Requirement, ...]:
    unique = {t.text: t for t in templates}
    return tuple(Requirement.of(t, f"route {name}") for t in unique.values())


def _templates_of(target: object) -> tuple[CapabilityTemplate, ...]:
    found = getattr(target, REQUIREMENT_ATTRIBUTE, ())
    if not isinstance(found, tuple) or not all(isinstance(t, CapabilityTemplate) for t in found):
        raise TypeError(f"{REQUIREMENT_ATTRIBUTE} of {target!r} is not a tuple of templates")
    return found


def _templates_in_dependant(root: object) -> Iterator[CapabilityTemplate]:
    seen: set[int] = set()
    stack = [root]
    while stack:
        dependant = stack.pop()
        if id(dependant) in seen:
            continue
        seen.add(id(dependant))
        call = getattr(dependant, "call", None)
        if call is not None:
            yield from _templates_of(call)
        stack.extend(getattr(dependant, "dependencies", ()))


def _has_dot_segment(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


def authorize(connection: HTTPConnection, requirement: Requirement) -> Principal:
    """Check at the endpoint that the verified principal holds the required capability.

    Defense in depth behind the middleware, which already checked the same thing.

    Raises:
        RuntimeError: the middleware did not verify this request (it is not let through).
        HTTPException: 403 when the capability is not covered.
    """
    principal = get_principal(connection)
    try:
        required = requirement.capability(connection.path_params)
    except PactError:
        raise HTTPException(403, "capability_denied") from None
    if find_cover(principal.capabilities, required) is None:
        raise HTTPException(403, "capability_denied")
    return principal


def requires_capability(template: str) -> Callable[[Endpoint], Endpoint]:
    """Declare the capability a Starlette endpoint needs, e.g. ``"api:write"``.

    On a function endpoint (which must take a ``request`` parameter) the decorator also
    checks, when the endpoint runs, that the middleware verified the request and that
    the principal holds the capability. On an ``HTTPEndpoint`` class or handler method
    it only declares; the middleware enforces.

    Raises:
        ValueError: the template is not valid capability grammar.
        TypeError: a function without a ``request`` parameter.
    """
    parsed = CapabilityTemplate.parse(template)

    def decorate(endpoint: Endpoint) -> Endpoint:
        declared = (*_templates_of(endpoint), parsed)
        if inspect.isclass(endpoint) or _is_handler_method(endpoint):
            setattr(endpoint, REQUIREMENT_ATTRIBUTE, declared)
            return endpoint
        index = _request_index(endpoint)
        requirement = Requirement.of(parsed, f"@requires_capability on {endpoint.__qualname__}")
        guarded: Callable[..., Any]
        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def guarded(*args: Any, **kwargs: Any) -> Any:
                authorize(_request_arg(args, kwargs, index), requirement)
                return await endpoint(*args, **kwargs)

        else:

            @functools.wraps(endpoint)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                authorize(_request_arg(args, kwargs, index), requirement)
                return endpoint(*args, **kwargs)

        setattr(guarded, REQUIREMENT_ATTRIBUTE, declared)
        return guarded  # type: ignore[return-value]

    return decorate


def _is_handler_method(endpoint: Callable[..., Any]) -> bool:
    # An HTTPEndpoint method (get, post, ...) is decorated in its class body, unbound:
    # its first parameter is self and its name an HTTP method.
    params = list(inspect.signature(endpoint).parameters)
    return bool(params) and params[0] == "self" and endpoint.__name__.upper() in _HTTP_METHODS


def _request_index(endpoint: Callable[..., Any]) -> int:
    for index, name in enumerate(inspect.signature(endpoint).parameters):
        if name == "request":
            return index
    raise TypeError(f"@requires_capability needs a 'request' parameter on {endpoint.__qualname__}")


def _request_arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int) -> HTTPConnection:
    request = kwargs.get("request", args[index] if index < len(args) else None)
    if not isinstance(request, HTTPConnection):
        raise TypeError("@requires_capability: the 'request' argument is not a request")
    return request
