"""Capabilities and route templates (protocol §5 and §6).

A capability names what a delegation grants, or what a route needs::

    github:pr:create,repo=myorg/*      scope, then constraints
    api:write,max_cost<100             a numeric bound
    *                                  everything

``G.covers(R)`` says whether every concrete request admitted by ``R`` is
admitted by ``G``. It never says yes wrongly: when in doubt (a glob
containment too costly to decide) it says no, and the request is refused.

In a granted capability (parsed from a delegation) a ``=`` value is a glob:
``*`` matches any run of characters without ``/``, ``**`` any run at all. In
a required capability (filled from a route template and the request's path
parameters) a value is literal text, whatever characters it holds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Literal
from uuid import UUID

from pact_asgi.errors import AuthorizationError, ErrorCode, LimitExceededError, MalformedError

__all__ = [
    "MAX_CAPABILITY_LENGTH",
    "Capability",
    "CapabilityTemplate",
    "Constraint",
    "CoverBudget",
    "find_cover",
]

logger = logging.getLogger(__name__)

MAX_CAPABILITY_LENGTH = 512
# Product states explored when deciding whether one glob contains another. Honest
# patterns need a handful; past this the answer is "not covered" (fail closed).
_CONTAINMENT_BUDGET = 2048

Operator = Literal["=", "<", "<="]

# §5 grammar. fullmatch everywhere: "$" would accept a trailing newline.
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+|\*")
_LITERAL_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_CONSTRAINT = re.compile(
    r"(?P<key>[A-Za-z0-9._-]+)"
    r"(?:=(?P<pattern>[!-+\--~]+)"  # visible ASCII but ","
    r"|(?P<op><=?)(?P<number>[0-9]+(?:\.[0-9]+)?))"
)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_VISIBLE = re.compile(r"[!-~]*")
_STAR_RUNS = re.compile(r"(\*+)")


def _malformed(detail: str) -> MalformedError:
    return MalformedError(ErrorCode.MALFORMED_CAPABILITY, detail)


def _format_number(number: Decimal) -> str:
    """The shortest plain decimal text of ``number``: no exponent, no trailing zeros."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _as_number(text: str) -> Decimal | None:
    """``text`` as a number if it is one by the §5 grammar, else None."""
    if len(text) > MAX_CAPABILITY_LENGTH or not _NUMBER.fullmatch(text):
        return None
    return Decimal(text)


class _Glob:
    """A compiled ``=`` value: an exact string, or a glob run as a bit-parallel NFA.

    State ``i`` means "the first ``i`` tokens are matched"; bit ``i`` of an int
    is set when state ``i`` is active. Running the NFA is linear in the input,
    where a backtracking regex can be polynomial with many wildcards.
    """

    __slots__ = (
        "accept",
        "after_prefix",
        "dstar",
        "exact",
        "initial",
        "lit",
        "prefix",
        "suffix",
        "text",
        "tokens",
        "universal",
        "wild",
        "wildcards",
    )

    def __init__(self, text: str, literal: bool) -> None:
        self.text = text
        self.exact = literal or "*" not in text
        # Tokens: one character each, "*" for a one-star run, "**" for a longer run
        # ("***" matches what "**" does). Consecutive wildcards never occur.
        tokens: list[str] = []
        if not self.exact:
            for run in _STAR_RUNS.split(text):
                if run.startswith("*"):
                    tokens.append("*" if run == "*" else "**")
                else:
                    tokens.extend(run)
        self.tokens = tuple(tokens)
        self.wildcards = sum(1 for t in tokens if t in ("*", "**"))
        lit: dict[str, int] = {}
        star = dstar = 0
        for i, piece in enumerate(tokens):
            if piece == "*":
                star |= 1 << i
            elif piece == "**":
                dstar |= 1 << i
            else:
                lit[piece] = lit.get(piece, 0) | 1 << i
        self.lit = lit
        self.dstar = dstar
        self.wild = star | dstar
        self.accept = 1 << len(tokens)
        # A trailing "**" accepts whatever follows once it is reached.
        self.universal = dstar & (self.accept >> 1)
        first = text.find("*")
        self.prefix = text if self.exact else text[:first]
        self.suffix = "" if self.exact else text[text.rfind("*") + 1 :]
        self.initial = self._close(1)
        # match() checks the literal prefix with startswith and runs the NFA after it.
        self.after_prefix = self._close(1 << len(self.prefix))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Glob):
            return NotImplemented
        return (self.text, self.exact) == (other.text, other.exact)

    def __hash__(self) -> int:
        return hash((self.text, self.exact))

    def _close(self, states: int) -> int:
        # A wildcard may match the empty run: reaching it also reaches the next state.
        return states | (states & self.wild) << 1

    def step(self, states: int, char: str) -> int:
        """Advance the active ``states`` over one character."""
        moved = (states & self.lit.get(char, 0)) << 1
        moved |= states & (self.dstar if char == "/" else self.wild)
        return moved | (moved & self.wild) << 1

    def match(self, value: str) -> bool:
        """Whether the literal ``value`` is matched."""
        if self.exact:
            return value == self.text
        prefix, suffix = self.prefix, self.suffix
        if (
            len(value) < len(prefix) + len(suffix)
            or not value.startswith(prefix)
            or not value.endswith(suffix)
        ):
            return False
        if self.wildcards == 1:
            middle = value[len(prefix) : len(value) - len(suffix)]
            return bool(self.dstar) or "/" not in middle
        states = self.after_prefix
        for char in value[len(prefix) :]:
            states = self.step(states, char)
            if not states:
                return False
        return bool(states & self.accept)


class CoverBudget:
    """Bounds the glob-containment work of one chain walk (a hostile chain's cost).

    Each uncached containment search spends the product states it explores. When a
    walk has spent its budget, covering raises instead of working on: a chain whose
    capabilities cost that much to compare is refused, not left to run.
    """

    __slots__ = ("states",)

    def __init__(self, states: int = 4096) -> None:
        self.states = states


def _glob_contains(outer: _Glob, inner: _Glob, budget: CoverBudget | None) -> bool:
    """Whether every string ``inner`` matches is matched by ``outer``."""
    if inner.exact:
        return outer.match(inner.text)
    if outer.exact:
        return False  # a wildcard matches infinitely many strings
    if outer.text == inner.text or outer.tokens == ("**",):
        return True
    known = _CONTAINMENT_CACHE.get((outer, inner))
    if known is not None:
        return known
    limit = _CONTAINMENT_BUDGET if budget is None else min(_CONTAINMENT_BUDGET, budget.states)
    answer, spent = _search_containment(outer, inner, limit)
    if budget is not None:
        budget.states -= spent
        if answer is None and budget.states <= 0:
            raise LimitExceededError(
                ErrorCode.CHAIN_TOO_LARGE, "capability patterns too costly to compare"
            )
    if answer is None:
        logger.debug("glob containment undecided within budget; treated as not covered")
        answer = False
    if len(_CONTAINMENT_CACHE) >= _CONTAINMENT_CACHE_SIZE:
        _CONTAINMENT_CACHE.clear()
    _CONTAINMENT_CACHE[(outer, inner)] = answer
    return answer


_CONTAINMENT_CACHE: dict[tuple[_Glob, _Glob], bool] = {}
_CONTAINMENT_CACHE_SIZE = 4096


def _search_containment(outer: _Glob, inner: _Glob, limit: int) -> tuple[bool | None, int]:
    # Explore the product of inner's NFA (one state at a time) with outer's subset
    # automaton. Inner's wildcards treat all characters alike but "/", so one
    # character per class of outer (each of its literals, "/", anything else) is a
    # complete alphabet. Every NFA state of a glob can still reach acceptance, so a
    # pair where outer has no live state is a counterexample. Returns the answer
    # (None when undecided within ``limit`` states) and the states explored.
    other = next(c for c in map(chr, range(0x110000)) if c != "/" and c not in outer.lit)
    alphabet = [*outer.lit, "/", other] if "/" not in outer.lit else [*outer.lit, other]
    end = len(inner.tokens)
    stack = [(0, outer.initial)]
    seen: set[tuple[int, int]] = set()
    while stack:
        pair = stack.pop()
        if pair in seen:
            continue
        seen.add(pair)
        if len(seen) > limit:
            return None, len(seen)
        position, states = pair
        if states & outer.universal:
            continue
        if not states:
            return False, len(seen)
        if position == end:
            if not states & outer.accept:
                return False, len(seen)
            continue
        piece = inner.tokens[position]
        if piece == "*" or piece == "**":
            stack.append((position + 1, states))
            for char in alphabet:
                if piece == "**" or char != "/":
                    stack.append((position, outer.step(states, char)))
        else:
            stack.append((position + 1, outer.step(states, piece)))
    return True, len(seen)


@dataclass(frozen=True, slots=True)
class Constraint:
    """One ``key=pattern``, ``key<number`` or ``key<=number`` of a capability.

    ``literal`` marks a required value (from a route template): literal text,
    not a glob. Bounds carry a :class:`~decimal.Decimal`.
    """

    key: str
    op: Operator
    value: str | Decimal
    literal: bool = False
    _glob: _Glob | None = field(init=False, repr=False, compare=False)
    _number: Decimal | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        glob: _Glob | None = None
        number: Decimal | None = None
        if self.op == "=":
            if not isinstance(self.value, str):
                raise TypeError("a '=' constraint takes a str value")
            glob = _Glob(self.value, self.literal)
            if glob.exact:
                number = _as_number(self.value)
        elif self.op in ("<", "<="):
            if not isinstance(self.value, Decimal) or not self.value.is_finite():
                raise TypeError("a bound takes a finite Decimal value")
        else:
            raise ValueError(f"unknown constraint operator {self.op!r}")
        object.__setattr__(self, "_glob", glob)
        object.__setattr__(self, "_number", number)

    def admits(self, other: Constraint, budget: CoverBudget | None = None) -> bool:
        """Whether every value ``other`` allows for the same key, this one allows.

        Raises:
            LimitExceededError: ``budget`` ran out deciding a glob containment.
        """
        bound = self.value
        if not isinstance(bound, Decimal):
            if other._glob is None or self._glob is None:
                return False  # a bound never satisfies a pattern
            return _glob_contains(self._glob, other._glob, budget)
        if other.op == "=":
            number = other._number
            if number is None:
                return False
            return number < bound if self.op == "<" else number <= bound
        theirs = other.value
        if not isinstance(theirs, Decimal):
            return False
        if self.op == "<" and other.op == "<=":
            return theirs < bound
        return theirs <= bound

    def __str__(self) -> str:
        if isinstance(self.value, Decimal):
            return f"{self.key}{self.op}{_format_number(self.value)}"
        value = self.value
        if self.literal and not _VISIBLE.fullmatch(value):
            # For logs only: a required value may hold anything a URL path can.
            value = value.encode("unicode_escape").decode("ascii")
        return f"{self.key}={value}"


@dataclass(frozen=True, slots=True)
class Capability:
    """A parsed capability: a scope and constraints sorted by key, compared by value."""

    scope: tuple[str, ...]
    constraints: tuple[Constraint, ...] = ()
    _by_key: dict[str, Constraint] = field(init=False, repr=False, compare=False)
    _open: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.scope or not all(isinstance(s, str) and s for s in self.scope):
            raise ValueError("a capability needs a scope of non-empty segments")
        by_key = {c.key: c for c in self.constraints}
        keys = [c.key for c in self.constraints]
        if len(by_key) != len(keys) or keys != sorted(keys):
            raise ValueError("constraints must be sorted by key, each key once")
        object.__setattr__(self, "_by_key", by_key)
        object.__setattr__(self, "_open", self.scope[-1] == "*")

    @classmethod
    def parse(cls, text: str) -> Capability:
        """Parse a granted capability (``=`` values are globs).

        Raises:
            MalformedError: ``malformed_capability`` for anything outside §5.
        """
        if not isinstance(text, str):
            raise _malformed("capability is not a string")
        if len(text) > MAX_CAPABILITY_LENGTH:
            raise _malformed(f"capability longer than {MAX_CAPABILITY_LENGTH} characters")
        return _parse(text)

    def covers(self, other: Capability, budget: CoverBudget | None = None) -> bool:
        """Whether everything ``other`` allows is allowed by this capability (§5).

        Raises:
            LimitExceededError: ``budget`` ran out deciding a glob containment.
        """
        if not _scope_covers(self.scope, self._open, other.scope, other._open):
            return False
        theirs = other._by_key
        for mine in self.constraints:
            found = theirs.get(mine.key)
            if found is None or not mine.admits(found, budget):
                return False
        return True

    def __str__(self) -> str:
        return ":".join(self.scope) + "".join(f",{c}" for c in self.constraints)


def _scope_covers(
    granted: tuple[str, ...], granted_open: bool, other: tuple[str, ...], other_open: bool
) -> bool:
    # Both sides may be patterns. A trailing "*" admits one or more segments, so an
    # open granted scope needs other at least as long, and a closed one needs other
    # closed and of the same length. Then each fixed granted segment must be fixed,
    # and equal, in other; positions under granted's trailing "*" are free.
    if granted_open:
        if len(other) < len(granted):
            return False
        fixed = len(granted) - 1
    else:
        if other_open or len(other) != len(granted):
            return False
        fixed = len(granted)
    for i in range(fixed):
        segment = granted[i]
        if segment != "*" and segment != other[i]:
            return False
    return True


@lru_cache(maxsize=4096)
def _parse(text: str) -> Capability:
    # Cached: capabilities are immutable and the same chain arrives request after
    # request. Failures raise and are not cached.
    scope_text, *constraint_texts = text.split(",")
    scope = scope_text.split(":")
    for segment in scope:
        if not _SEGMENT.fullmatch(segment):
            raise _malformed("bad scope segment")
    if len(scope) == 1 and scope[0] != "*":
        scope.append("*")  # §5: a one-segment scope "s" means "s:*"

    constraints: dict[str, Constraint] = {}
    for item in constraint_texts:
        found = _CONSTRAINT.fullmatch(item)
        if found is None:
            raise _malformed("bad constraint")
        key = found["key"]
        if key in constraints:
            raise _malformed("constraint key repeated")
        if found["pattern"] is not None:
            constraints[key] = Constraint(key, "=", found["pattern"])
        else:
            op: Operator = "<=" if found["op"] == "<=" else "<"
            constraints[key] = Constraint(key, op, Decimal(found["number"]))
    ordered = tuple(constraints[k] for k in sorted(constraints))
    return Capability(tuple(scope), ordered)


def find_cover(
    granted: Sequence[Capability], required: Capability, budget: CoverBudget | None = None
) -> Capability | None:
    """The first of ``granted`` that covers ``required``, or None.

    Raises:
        LimitExceededError: ``budget`` ran out deciding a glob containment.
    """
    for capability in granted:
        if capability.covers(required, budget):
            return capability
    return None


@dataclass(frozen=True, slots=True)
class _Param:
    name: str


_Part = str | _Param


@dataclass(frozen=True, slots=True)
class _TemplateConstraint:
    key: str
    op: Operator
    parts: tuple[_Part, ...]  # for "=": literal text and placeholders
    bound: Decimal | None


@dataclass(frozen=True, slots=True)
class CapabilityTemplate:
    """A route's required capability with ``{name}`` placeholders (§6)."""

    text: str
    scope: tuple[_Part, ...]
    constraints: tuple[_TemplateConstraint, ...]
    parameters: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> CapabilityTemplate:
        """Parse a template such as ``github:pr:create,repo={owner}/{repo}``.

        Raises:
            ValueError: the template is not §5 grammar with well-formed placeholders.
        """
        if not isinstance(text, str) or not text:
            raise ValueError("a capability template is a non-empty string")
        names: set[str] = set()
        scope_text, *constraint_texts = text.split(",")
        scope: list[_Part] = []
        for segment in scope_text.split(":"):
            placeholder = _PLACEHOLDER.fullmatch(segment)
            if placeholder is not None:
                names.add(placeholder[1])
                scope.append(_Param(placeholder[1]))
            elif _SEGMENT.fullmatch(segment):
                scope.append(segment)
            else:
                raise ValueError(f"bad scope segment {segment!r} in template {text!r}")
        if len(scope) == 1 and scope[0] != "*":
            scope.append("*")

        constraints: dict[str, _TemplateConstraint] = {}
        for item in constraint_texts:
            found = _CONSTRAINT.fullmatch(item)
            if found is None:
                raise ValueError(f"bad constraint {item!r} in template {text!r}")
            key = found["key"]
            if key in constraints:
                raise ValueError(f"constraint key {key!r} repeated in template {text!r}")
            if found["pattern"] is None:
                op: Operator = "<=" if found["op"] == "<=" else "<"
                constraints[key] = _TemplateConstraint(key, op, (), Decimal(found["number"]))
                continue
            parts = _split_placeholders(found["pattern"], text)
            names.update(p.name for p in parts if isinstance(p, _Param))
            constraints[key] = _TemplateConstraint(key, "=", parts, None)
        ordered = tuple(constraints[k] for k in sorted(constraints))
        return cls(text, tuple(scope), ordered, frozenset(names))

    def fill(self, params: Mapping[str, object]) -> Capability:
        """Build the required capability from path parameters; every value is literal.

        Raises:
            AuthorizationError: ``capability_denied`` when a parameter filling a scope
                segment is not a plain segment (``*`` included).
            ValueError: a parameter of the template is missing from ``params``.
        """
        values: dict[str, str] = {}
        for name in self.parameters:
            if name not in params:
                raise ValueError(f"path parameter {name!r} missing for template {self.text!r}")
            values[name] = _param_text(name, params[name])

        scope: list[str] = []
        for part in self.scope:
            if isinstance(part, str):
                scope.append(part)
                continue
            value = values[part.name]
            if not _LITERAL_SEGMENT.fullmatch(value):
                raise AuthorizationError(
                    ErrorCode.CAPABILITY_DENIED,
                    f"path parameter {part.name!r} is not a valid scope segment",
                )
            scope.append(value)

        # Structured: each value becomes one literal constraint value, so "," "=" "*"
        # in a parameter can neither add a constraint nor widen a pattern (§6).
        constraints = tuple(
            Constraint(c.key, c.op, c.bound)
            if c.bound is not None
            else Constraint(
                c.key,
                "=",
                "".join(p if isinstance(p, str) else values[p.name] for p in c.parts),
                literal=True,
            )
            for c in self.constraints
        )
        return Capability(tuple(scope), constraints)

    def __str__(self) -> str:
        return self.text


def _split_placeholders(pattern: str, template: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    position = 0
    for found in _PLACEHOLDER.finditer(pattern):
        if found.start() > position:
            parts.append(pattern[position : found.start()])
        parts.append(_Param(found[1]))
        position = found.end()
    if position < len(pattern):
        parts.append(pattern[position:])
    for part in parts:
        if isinstance(part, str) and ("{" in part or "}" in part):
            raise ValueError(f"stray brace in template {template!r}")
    return tuple(parts)


def _param_text(name: str, value: object) -> str:
    # Starlette's path convertors yield int, float and UUID besides str.
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, UUID)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"path parameter {name!r} has unsupported type {type(value).__name__}")
