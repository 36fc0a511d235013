"""Property tests of pact_asgi.capability: covering is sound, transitive, and parsing total.

Soundness is checked against reference semantics written independently of the
module: a glob or scope pattern becomes a Python regex, and strings are drawn
from the covered pattern itself so that matches actually happen.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from itertools import product

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pact_asgi.capability import MAX_CAPABILITY_LENGTH, Capability, CapabilityTemplate
from pact_asgi.errors import ErrorCode, MalformedError

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LITERAL_VALUE = CapabilityTemplate.parse("s:t,k={value}")

# --- reference semantics -----------------------------------------------------------------


def glob_regex(pattern: str) -> re.Pattern[str]:
    """§5 glob as a regex: "**" (or longer run) any text, "*" any text without "/"."""
    out = []
    for run in re.split(r"(\*+)", pattern):
        if run == "*":
            out.append("[^/]*")
        elif run.startswith("**"):
            out.append(".*")
        else:
            out.append(re.escape(run))
    return re.compile("".join(out), re.DOTALL)


def scope_regex(scope: tuple[str, ...]) -> re.Pattern[str]:
    """§5 scope pattern as a regex over ":"-joined concrete segments."""
    out = []
    for i, segment in enumerate(scope):
        if segment != "*":
            out.append(re.escape(segment))
        elif i == len(scope) - 1:
            out.append("[^:]+(?::[^:]+)*")
        else:
            out.append("[^:]+")
    return re.compile(":".join(out))


# --- strategies ------------------------------------------------------------------------

# A small alphabet makes overlaps, and so coverings, frequent.
patterns = st.text(alphabet="ab/*", min_size=1, max_size=7)
wild_fill = st.text(alphabet="abc", max_size=3)
double_fill = st.text(alphabet="abc/", max_size=4)


@st.composite
def instances(draw: st.DrawFn, pattern: str) -> str:
    """A string the glob ``pattern`` matches, with random text for its wildcards."""
    out = []
    for run in re.split(r"(\*+)", pattern):
        if run == "*":
            out.append(draw(wild_fill))
        elif run.startswith("**"):
            out.append(draw(double_fill))
        else:
            out.append(run)
    return "".join(out)


@st.composite
def narrowed(draw: st.DrawFn, pattern: str) -> str:
    """A pattern whose matches ``pattern`` also matches: wildcards narrowed or kept."""
    out = []
    for run in re.split(r"(\*+)", pattern):
        if run == "*":
            out.append(draw(st.sampled_from(["*", "", "a", "a*", "*b", "*a*"])))
        elif run.startswith("**"):
            out.append(draw(st.sampled_from(["**", "*", "*/*", "/**", "a**", "", "**/b"])))
        else:
            out.append(run)
    return "".join(out) or "a"


def strings_for(pattern: str) -> st.SearchStrategy[str]:
    return st.one_of(instances(pattern), st.text(alphabet="abc/", max_size=8))


def granted(pattern: str) -> Capability:
    return Capability.parse(f"s:t,k={pattern}")


def checked(run: Callable[[], None], counts: Counter[str], *needed: str) -> None:
    """Run a @given test, then require that each outcome in ``needed`` occurred."""
    run()
    for outcome in needed:
        assert counts[outcome] >= 10, f"property barely exercised: {dict(counts)}"


# --- (1) glob covering is sound -------------------------------------------------------


def test_glob_covering_is_sound() -> None:
    counts: Counter[str] = Counter()

    @PROPERTY
    @given(st.data(), patterns)
    def run(data: st.DataObject, outer: str) -> None:
        inner = data.draw(st.one_of(patterns, narrowed(outer)))
        if not granted(outer).covers(granted(inner)):
            counts["not covered"] += 1
            return
        counts["covered"] += 1
        value = data.draw(instances(inner))
        assert glob_regex(inner).fullmatch(value)
        assert glob_regex(outer).fullmatch(value), (outer, inner, value)
        if outer != inner and "*" in inner:
            counts["covered, distinct wildcard patterns"] += 1
            event("covered, distinct wildcard patterns")

    checked(run, counts, "covered", "not covered", "covered, distinct wildcard patterns")


def test_glob_covering_is_complete_on_small_patterns() -> None:
    # Each "no" must have a witness: a string the inner pattern matches and the
    # outer does not. Wildcards are filled exhaustively with short strings.
    counts: Counter[str] = Counter()
    fills = ["", *"abc/", *("".join(p) for p in product("abc/", repeat=2))]

    @settings(max_examples=200, deadline=None)
    @given(st.text(alphabet="ab/*", min_size=1, max_size=5), patterns)
    def run(outer: str, inner: str) -> None:
        if granted(outer).covers(granted(inner)):
            return
        runs = re.split(r"(\*+)", inner)
        holes = [i for i, r in enumerate(runs) if r.startswith("*")]
        if len(holes) > 2:
            return
        counts["not covered"] += 1
        outer_re, inner_re = glob_regex(outer), glob_regex(inner)
        for choice in product(fills, repeat=len(holes)):
            filled = list(runs)
            for hole, text in zip(holes, choice, strict=True):
                filled[hole] = text
            value = "".join(filled)
            if inner_re.fullmatch(value) and not outer_re.fullmatch(value):
                return
        raise AssertionError(f"no witness that {outer!r} does not cover {inner!r}")

    checked(run, counts, "not covered")


def test_glob_match_agrees_with_reference() -> None:
    counts: Counter[str] = Counter()

    @PROPERTY
    @given(st.data(), patterns)
    def run(data: st.DataObject, pattern: str) -> None:
        value = data.draw(strings_for(pattern))
        expected = bool(glob_regex(pattern).fullmatch(value))
        counts[str(expected)] += 1
        assert granted(pattern).covers(LITERAL_VALUE.fill({"value": value})) is expected

    checked(run, counts, "True", "False")


# --- (2) scope covering is sound ------------------------------------------------------

scopes = st.lists(st.sampled_from(["a", "b", "*"]), min_size=1, max_size=4).map(":".join)


@st.composite
def concrete(draw: st.DrawFn, scope: tuple[str, ...]) -> str:
    """A concrete ":"-joined scope admitted by the pattern ``scope``."""
    out = []
    for i, segment in enumerate(scope):
        if segment != "*":
            out.append(segment)
        elif i == len(scope) - 1:
            out.extend(draw(st.lists(st.sampled_from("abc"), min_size=1, max_size=3)))
        else:
            out.append(draw(st.sampled_from("abc")))
    return ":".join(out)


def test_scope_covering_is_sound() -> None:
    counts: Counter[str] = Counter()

    @PROPERTY
    @given(st.data(), scopes, scopes)
    def run(data: st.DataObject, outer_text: str, inner_text: str) -> None:
        outer, inner = Capability.parse(outer_text), Capability.parse(inner_text)
        if not outer.covers(inner):
            counts["not covered"] += 1
            return
        counts["covered"] += 1
        if outer.scope != inner.scope and "*" in inner.scope[:-1]:
            counts["covered, inner has a middle *"] += 1
        value = data.draw(concrete(inner.scope))
        assert scope_regex(inner.scope).fullmatch(value)
        assert scope_regex(outer.scope).fullmatch(value), (outer_text, inner_text, value)

    checked(run, counts, "covered", "not covered", "covered, inner has a middle *")


# --- (3) covering is transitive -------------------------------------------------------

numbers = st.sampled_from(["0", "1", "2.5", "5", "10", "10.0", "99.99", "100"])
constraint_texts = st.one_of(
    st.tuples(st.just("="), st.text(alphabet="ab/*", min_size=1, max_size=4)),
    st.tuples(st.just("="), numbers),
    st.tuples(st.sampled_from(["<", "<="]), numbers),
)


@st.composite
def capabilities(draw: st.DrawFn) -> Capability:
    scope = draw(st.sampled_from(["*", "a", "a:b", "a:*", "a:b:c", "a:*:c", "*:b"]))
    chosen = draw(st.dictionaries(st.sampled_from("km"), constraint_texts, max_size=2))
    return Capability.parse(scope + "".join(f",{k}{op}{v}" for k, (op, v) in chosen.items()))


def test_covering_is_transitive() -> None:
    counts: Counter[str] = Counter()

    @settings(max_examples=800, deadline=None)
    @given(capabilities(), capabilities(), capabilities())
    def run(first: Capability, second: Capability, third: Capability) -> None:
        if first.covers(second) and second.covers(third):
            counts["chain"] += 1
            if first.constraints and third.constraints:
                counts["chain with constraints"] += 1
            assert first.covers(third), (str(first), str(second), str(third))

    checked(run, counts, "chain", "chain with constraints")


def test_covering_is_reflexive() -> None:
    @PROPERTY
    @given(capabilities())
    def run(cap: Capability) -> None:
        assert cap.covers(cap)

    run()


# --- (4) canonical text round-trips ---------------------------------------------------

segments = st.one_of(st.just("*"), st.from_regex(r"[A-Za-z0-9._-]{1,8}", fullmatch=True))
keys = st.from_regex(r"[A-Za-z0-9._-]{1,6}", fullmatch=True)
values = st.one_of(
    st.tuples(st.just("="), st.from_regex(r"[!-+\--~]{1,12}", fullmatch=True)),
    st.tuples(
        st.sampled_from(["<", "<="]), st.from_regex(r"[0-9]{1,5}(\.[0-9]{1,4})?", fullmatch=True)
    ),
)


@st.composite
def capability_texts(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 20)) == 0:
        return "*"
    scope = ":".join(draw(st.lists(segments, min_size=1, max_size=4)))
    chosen = draw(st.dictionaries(keys, values, max_size=4))
    return scope + "".join(f",{k}{op}{v}" for k, (op, v) in chosen.items())


@PROPERTY
@given(capability_texts())
def test_parse_str_round_trip(text: str) -> None:
    cap = Capability.parse(text)
    canonical = str(cap)
    assert Capability.parse(canonical) == cap
    assert str(Capability.parse(canonical)) == canonical
    assert hash(Capability.parse(canonical)) == hash(cap)
    assert len(canonical) <= len(text) + 2  # only "s" -> "s:*" grows


@PROPERTY
@given(capability_texts())
def test_canonical_bounds_are_exact(text: str) -> None:
    for original in Capability.parse(text).constraints:
        if isinstance(original.value, Decimal):
            reparsed = Capability.parse(f"s:t,{original}").constraints[0]
            assert reparsed.value == original.value


# --- (5) parsing is total: MalformedError or a Capability -----------------------------

near_grammar = st.text(alphabet="ab*:,=<.09 \n{}/-_é\x00", max_size=30)


@PROPERTY
@given(st.one_of(st.text(max_size=600), near_grammar, capability_texts().map(lambda t: t + "\n")))
def test_parse_raises_only_malformed(text: str) -> None:
    try:
        cap = Capability.parse(text)
    except MalformedError as exc:
        error = exc
    else:
        assert len(text) <= MAX_CAPABILITY_LENGTH
        assert Capability.parse(str(cap)) == cap
        return
    assert error.error_code is ErrorCode.MALFORMED_CAPABILITY


@PROPERTY
@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text()), st.floats()))
def test_parse_non_text_is_malformed(value: object) -> None:
    with pytest.raises(MalformedError) as caught:
        Capability.parse(value)  # type: ignore[arg-type]
    assert caught.value.error_code is ErrorCode.MALFORMED_CAPABILITY


# --- templates: a filled value never widens -------------------------------------------


@PROPERTY
@given(st.text(max_size=20), patterns)
def test_filled_value_is_one_literal(value: str, pattern: str) -> None:
    cap = LITERAL_VALUE.fill({"value": value})
    assert len(cap.constraints) == 1
    assert cap.constraints[0].value == value
    assert granted(pattern).covers(cap) is bool(glob_regex(pattern).fullmatch(value))
