"""Unit tests of pact_asgi.capability: protocol §5 grammar and covering, §6 templates."""

from __future__ import annotations

import time
from decimal import Decimal
from uuid import UUID

import pact
import pytest

from pact_asgi.capability import (
    _CONTAINMENT_CACHE,
    MAX_CAPABILITY_LENGTH,
    Capability,
    CapabilityTemplate,
    Constraint,
    CoverBudget,
    find_cover,
)
from pact_asgi.errors import AuthorizationError, ErrorCode, LimitExceededError, MalformedError

P = Capability.parse


def covers(granted: str, required: str) -> bool:
    return P(granted).covers(P(required))


def required(template: str, **params: str) -> Capability:
    return CapabilityTemplate.parse(template).fill(params)


# --- grammar -------------------------------------------------------------------------


def test_parse_structure() -> None:
    cap = P("github:pr:create,repo=myorg/*,max_cost<100,n<=2.50")
    assert cap.scope == ("github", "pr", "create")
    assert cap.constraints == (
        Constraint("max_cost", "<", Decimal(100)),
        Constraint("n", "<=", Decimal("2.5")),
        Constraint("repo", "=", "myorg/*"),
    )
    assert all(not c.literal for c in cap.constraints)
    assert isinstance(cap.constraints[0].value, Decimal)


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("storage", ("storage", "*")),
        ("storage:*", ("storage", "*")),
        ("*", ("*",)),
        ("*:*", ("*", "*")),
        ("a.b-c_D9:x", ("a.b-c_D9", "x")),
        ("a:*:c", ("a", "*", "c")),
    ],
)
def test_scope_normalisation(text: str, scope: tuple[str, ...]) -> None:
    assert P(text).scope == scope


@pytest.mark.parametrize(
    "text",
    [
        "a:b,k=v",
        "a:b,k==v",
        "a:b,k=<5",
        "a:b,k=a?[b]{c}=~!",
        "a:b,k<0",
        "a:b,k<=123.456",
        "*,k=v",
        "a:b," + ",".join(f"k{i}=v" for i in range(10)),
    ],
)
def test_valid_capabilities(text: str) -> None:
    assert P(text) == P(str(P(text)))


@pytest.mark.parametrize(
    "text",
    [
        "",
        " storage:read",
        "storage:read ",
        "storage :read",
        "storage::read",
        ":read",
        "storage:",
        "storage:read,",
        ",k=v",
        "a,,k=v",
        "a,k",
        "a,k=",
        "a,=v",
        "a,k<",
        "a,k<=",
        "a,k<1.",
        "a,k<.5",
        "a,k<-1",
        "a,k<+1",
        "a,k<1e3",
        "a,k<NaN",
        "a,k<\u0661",  # a non-ASCII digit
        "a,k>1",
        "a,k=v w",
        "a,k=\x7f",
        "a,k=é",
        "a,k=v\n",
        "storage:read\n",
        "a,k=v,k=w",
        "a,k<1,k=v",
        "a,k<1,k<=2",
        "a:b*",
        "a:*b",
        "**",
        "a:**",
        "a/b:c",
        "é:x",
        "a,k y=v",
        "x" * (MAX_CAPABILITY_LENGTH + 1),
    ],
)
def test_invalid_capabilities(text: str) -> None:
    with pytest.raises(MalformedError) as caught:
        P(text)
    assert caught.value.code == ErrorCode.MALFORMED_CAPABILITY.value == "malformed_capability"


@pytest.mark.parametrize("value", [None, b"storage:read", 5, ["storage:read"], {"a": 1}])
def test_non_string_is_malformed(value: object) -> None:
    with pytest.raises(MalformedError) as caught:
        P(value)  # type: ignore[arg-type]
    assert caught.value.error_code is ErrorCode.MALFORMED_CAPABILITY


def test_length_limit_is_inclusive() -> None:
    text = "a:b,k=" + "v" * (MAX_CAPABILITY_LENGTH - 6)
    assert len(text) == MAX_CAPABILITY_LENGTH == 512
    assert P(text).constraints[0].value == "v" * 506
    with pytest.raises(MalformedError):
        P(text + "v")


# --- canonical text and equality -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("storage", "storage:*"),
        ("*", "*"),
        ("*,k=v", "*,k=v"),
        ("a:b,z=1,a=2", "a:b,a=2,z=1"),
        ("a:b,n<007.500", "a:b,n<7.5"),
        ("a:b,n<=100", "a:b,n<=100"),
        ("a:b,n<0.000", "a:b,n<0"),
        ("a:b,n<10.0", "a:b,n<10"),
        ("a:b,k=007.50", "a:b,k=007.50"),  # a pattern is text, kept as written
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    assert str(P(text)) == canonical
    assert P(canonical) == P(text)


def test_equality_and_hash_by_value() -> None:
    one, two = P("a:b,y<1.0,x=2"), P("a:b,x=2,y<1")
    assert one == two
    assert hash(one) == hash(two)
    assert len({one, two, P("a"), P("a:*")}) == 2
    assert P("a:b,k=v") != P("a:b,k=w")
    assert P("a:b,k<1") != P("a:b,k<=1")


def test_capability_is_frozen() -> None:
    cap = P("a:b")
    with pytest.raises(AttributeError):
        cap.scope = ("c",)  # type: ignore[misc]


# --- covering: the §5 examples --------------------------------------------------------


def test_example_repo_glob() -> None:
    grant = "github:pr:create,repo=myorg/*"
    assert covers(grant, "github:pr:create,repo=myorg/app")
    assert covers(grant, "github:pr:create,repo=myorg/app,draft=yes")
    assert covers(grant, "github:pr:create,repo=myorg/app-*")  # narrower pattern
    assert not covers(grant, "github:pr:create,repo=myorg/app/sub")  # "*" stops at "/"
    assert not covers(grant, "github:pr:create,repo=other/app")
    assert not covers(grant, "github:pr:create,repo=myorg/**")
    assert not covers(grant, "github:pr:create")  # the key is required
    assert not covers(grant, "github:pr:merge,repo=myorg/app")


def test_example_spend_limit() -> None:
    grant = "api:write,max_cost<100"
    assert covers(grant, "api:write,max_cost=99.99")
    assert covers(grant, "api:write,max_cost=0")
    assert not covers(grant, "api:write,max_cost=100")
    assert not covers(grant, "api:write,max_cost=100.0")
    assert not covers(grant, "api:write,max_cost=1e1")  # not a §5 number
    assert not covers(grant, "api:write,max_cost=*")
    assert not covers(grant, "api:write,max_cost=5*")  # could be 500
    assert covers(grant, "api:write,max_cost<100")
    assert covers(grant, "api:write,max_cost<50")
    assert not covers(grant, "api:write,max_cost<100.001")
    assert covers(grant, "api:write,max_cost<=99.999")
    assert not covers(grant, "api:write,max_cost<=100")
    assert not covers(grant, "api:write")


def test_inclusive_bound() -> None:
    grant = "api:write,max_cost<=100"
    assert covers(grant, "api:write,max_cost=100")
    assert covers(grant, "api:write,max_cost<=100")
    assert covers(grant, "api:write,max_cost<100")
    assert covers(grant, "api:write,max_cost<100.0")
    assert not covers(grant, "api:write,max_cost<100.0001")
    assert not covers(grant, "api:write,max_cost=100.0001")


def test_example_path_double_star() -> None:
    grant = "storage:read,path=/data/public/**"
    assert covers(grant, "storage:read,path=/data/public/a/b/c.txt")
    assert covers(grant, "storage:read,path=/data/public/")
    assert covers(grant, "storage:read,path=/data/public/x/*/y")
    assert covers(grant, "storage:read,path=/data/public/**")
    assert not covers(grant, "storage:read,path=/data/private/a")
    assert not covers(grant, "storage:read,path=/data/**")
    assert not covers(grant, "storage:read,path=/data/*/a")


def test_numbers_compare_exactly() -> None:
    # As floats, 0.30000000000000001 == 0.3; as decimals it is larger.
    assert not covers("a:b,n<=0.3", "a:b,n=0.30000000000000001")
    assert covers("a:b,n<=0.30000000000000001", "a:b,n=0.3")
    big = "9" * 60
    assert covers(f"a:b,n<{big}", f"a:b,n<={big[:-1]}8")
    assert not covers(f"a:b,n<{big}", f"a:b,n={big}")


def test_mixed_kinds_are_not_covered() -> None:
    assert not covers("a:b,k=*", "a:b,k<5")
    assert not covers("a:b,k=**", "a:b,k<=5")
    assert not covers("a:b,k<5", "a:b,k=x")


def test_keys_only_the_required_side_has_are_free() -> None:
    assert covers("a:b", "a:b,anything=x,n<3")
    assert covers("a:b,k=v", "a:b,k=v,other=w")
    assert not covers("a:b,k=v,other=w", "a:b,k=v")


# --- covering: scopes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "other", "expected"),
    [
        ("*", "a:b", True),
        ("*", "a:b:c:d,k=v", True),
        ("*", "*", True),
        ("github:*", "github:pr:create", True),
        ("github", "github:pr", True),
        ("github", "github:*", True),
        ("github", "gitlab:pr", False),
        ("github:pr", "github:pr", True),
        ("github:pr", "github:pr:create", False),
        ("github:pr", "github:issue", False),
        ("github:*:create", "github:pr:create", True),
        ("github:*:create", "github:pr:merge", False),
        ("github:*:create", "github:pr:x:create", False),
        ("github:*:create", "github:*:create", True),
        ("a:*:c", "a:*:*", False),
        ("a:b:*", "a:b:c:d:e", True),
        ("a:b:*", "a:b", False),
        ("a:*", "a:*:x", True),
        ("a:*", "a:*:*", True),
        ("a:b", "a:*", False),
        ("a:*:*", "a:*", False),  # a:x is admitted by a:* but not by a:*:*
        ("a:*:*", "a:b:c", True),
        ("*:b", "a:b", True),
        ("*:b", "a:*", False),
        ("*:*", "*", False),
        ("a:b,k=v", "*", False),
    ],
)
def test_scope_covering(granted: str, other: str, expected: bool) -> None:
    assert covers(granted, other) is expected


# --- glob semantics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("myorg/*", "myorg/", True),
        ("myorg/*", "myorg/a/b", False),
        ("myorg/**", "myorg/a/b", True),
        ("*@mycompany.com", "bob@mycompany.com", True),
        ("*@mycompany.com", "bob@evil.com/@mycompany.com", False),
        ("**@mycompany.com", "bob@evil.com/@mycompany.com", True),
        ("a?c", "abc", False),
        ("a?c", "a?c", True),
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        ("a***", "a/b", True),
        ("*/*", "x/y", True),
        ("*/*", "x/y/z", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "ab/c", False),
        ("a**b*c", "a/x/bYc", True),
        ("a**b*c", "a/x/b/c", False),  # the "*" before "c" cannot take "/"
    ],
)
def test_glob_matches_literal_values(pattern: str, value: str, expected: bool) -> None:
    cap = required("s:t,k={v}", v=value)
    assert P(f"s:t,k={pattern}").covers(cap) is expected


def test_glob_containment_examples() -> None:
    assert covers("s:t,k=*a*b*", "s:t,k=a*b")
    assert covers("s:t,k=*a*b*", "s:t,k=ab*")
    assert not covers("s:t,k=*a*b*", "s:t,k=*b*a*")
    assert covers("s:t,k=**", "s:t,k=*/*/**")
    assert covers("s:t,k=**/*", "s:t,k=a/b/*")
    assert not covers("s:t,k=*", "s:t,k=**")
    assert covers("s:t,k=**", "s:t,k=*")
    assert covers("s:t,k=*", "s:t,k=a*b*c")
    assert not covers("s:t,k=*", "s:t,k=a/*")
    assert covers("s:t,k=a*", "s:t,k=a")
    assert not covers("s:t,k=a", "s:t,k=a*")
    assert covers("s:t,k=**a", "s:t,k=*/**a")


def test_pathological_globs_stay_fast() -> None:
    # A backtracking regex takes polynomial time here; the NFA is linear.
    pattern = "*a" * 40 + "*b"
    grant = P(f"s:t,k={pattern}")
    value = required("s:t,k={v}", v="a" * 20_000)
    started = time.perf_counter()
    assert not grant.covers(value)
    assert grant.covers(required("s:t,k={v}", v="a" * 100 + "b"))
    # Containment between two large patterns either decides or fails closed, quickly.
    other = P("s:t,k=" + "*a*/" * 60 + "b")
    assert not grant.covers(other)
    assert not P("s:t,k=" + "*a" * 100).covers(P("s:t,k=" + "a*" * 100 + "/"))
    assert time.perf_counter() - started < 2.0


# --- required capabilities from templates (§6) ---------------------------------------


def test_template_fill() -> None:
    template = CapabilityTemplate.parse("github:pr:create,repo={owner}/{repo}")
    assert template.parameters == frozenset({"owner", "repo"})
    cap = template.fill({"owner": "myorg", "repo": "app"})
    assert cap == Capability(
        ("github", "pr", "create"), (Constraint("repo", "=", "myorg/app", literal=True),)
    )
    assert cap.constraints[0].literal
    assert str(cap) == "github:pr:create,repo=myorg/app"
    assert P("github:pr:create,repo=myorg/*").covers(cap)


def test_filled_star_is_literal() -> None:
    cap = required("github:pr:create,repo={owner}/{repo}", owner="myorg", repo="*")
    assert cap.constraints[0].value == "myorg/*"
    assert not P("github:pr:create,repo=myorg/app").covers(cap)
    # A grant's "*" does match the character "*" itself.
    assert P("github:pr:create,repo=myorg/*").covers(cap)
    wide = required("github:pr:create,repo={owner}/{repo}", owner="**", repo="x")
    assert not P("github:pr:create,repo=myorg/*").covers(wide)


def test_filled_comma_and_equals_cannot_add_constraints() -> None:
    cap = required("api:write,repo={repo}", repo="x,max_cost=1,repo=y")
    assert len(cap.constraints) == 1
    assert cap.constraints[0].value == "x,max_cost=1,repo=y"
    assert not P("api:write,repo=y").covers(cap)
    assert not P("api:write,repo=x").covers(cap)
    assert not P("api:write,repo=x,max_cost=1").covers(cap)
    assert P("api:write,repo=x**").covers(cap)


def test_filled_number_is_compared_as_a_number() -> None:
    template = CapabilityTemplate.parse("api:write,max_cost={cost}")
    assert P("api:write,max_cost<100").covers(template.fill({"cost": "99.5"}))
    assert not P("api:write,max_cost<100").covers(template.fill({"cost": "100"}))
    assert not P("api:write,max_cost<100").covers(template.fill({"cost": "5*"}))
    assert not P("api:write,max_cost<100").covers(template.fill({"cost": "-5"}))
    assert not P("api:write,max_cost<100").covers(template.fill({"cost": "1e1"}))


def test_template_literal_text_is_literal() -> None:
    cap = CapabilityTemplate.parse("s:t,path=/files/*").fill({})
    assert cap.constraints[0].literal
    assert P("s:t,path=/files/*").covers(cap)
    assert not P("s:t,path=/files/a").covers(cap)


def test_template_bound_and_scope_placeholder() -> None:
    template = CapabilityTemplate.parse("{service}:read,max_cost<=5,path={path}")
    assert template.parameters == frozenset({"service", "path"})
    cap = template.fill({"service": "storage", "path": "/a"})
    assert cap.scope == ("storage", "read")
    assert cap.constraints[0] == Constraint("max_cost", "<=", Decimal(5))
    assert P("storage:*,max_cost<10").covers(cap)
    assert CapabilityTemplate.parse("{service}").fill({"service": "x"}).scope == ("x", "*")


@pytest.mark.parametrize("value", ["*", "", "a:b", "a b", "a,k=v", "é", "a\n"])
def test_scope_placeholder_must_be_a_plain_segment(value: str) -> None:
    template = CapabilityTemplate.parse("{service}:read")
    with pytest.raises(AuthorizationError) as caught:
        template.fill({"service": value})
    assert caught.value.error_code is ErrorCode.CAPABILITY_DENIED
    assert caught.value.status == 403


def test_fill_converts_convertor_types() -> None:
    template = CapabilityTemplate.parse("s:{n},id={id}")
    uid = UUID(int=7)
    cap = template.fill({"n": 3, "id": uid})
    assert cap.scope == ("s", "3")
    assert cap.constraints[0].value == str(uid)
    with pytest.raises(TypeError):
        template.fill({"n": True, "id": "x"})
    with pytest.raises(TypeError):
        template.fill({"n": "x", "id": b"x"})


def test_fill_missing_parameter() -> None:
    template = CapabilityTemplate.parse("github:pr:create,repo={owner}/{repo}")
    with pytest.raises(ValueError, match="repo"):
        template.fill({"owner": "myorg"})


def test_fill_ignores_extra_parameters() -> None:
    cap = CapabilityTemplate.parse("a:b").fill({"unused": "x"})
    assert cap == P("a:b")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a:{x",
        "a:x}",
        "a:{}",
        "a:{1x}",
        "a:{x}{y}",
        "a:b{x}",
        "a,k={x",
        "a,k=}",
        "a,k={x}}",
        "a,k={}",
        "a,k={x-y}",
        "a,{k}=v",
        "a,k<{n}",
        "a,k=v,k=w",
        "a:b,",
        "a b",
    ],
)
def test_malformed_template(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - developer misuse, a plain ValueError
        CapabilityTemplate.parse(text)


def test_template_with_repeated_placeholder() -> None:
    cap = required("s:t,k={x}-{x}", x="a")
    assert cap.constraints[0].value == "a-a"


def test_literal_str_escapes_for_logs() -> None:
    cap = required("s:t,k={x}", x="a\nb")
    assert "\n" not in str(cap)


# --- find_cover ------------------------------------------------------------------------


def test_find_cover_returns_the_first_cover() -> None:
    granted = [P("storage:write"), P("storage:read,path=/a/**"), P("storage:*")]
    need = required("storage:read,path={p}", p="/a/b")
    assert find_cover(granted, need) is granted[1]
    assert find_cover(granted[:1], need) is None
    assert find_cover([], need) is None


# --- direct construction (developer misuse) ------------------------------------------


def test_constraint_construction_checks_types() -> None:
    with pytest.raises(TypeError):
        Constraint("k", "<", "5")
    with pytest.raises(TypeError):
        Constraint("k", "=", Decimal(5))
    with pytest.raises(TypeError):
        Constraint("k", "<", Decimal("NaN"))
    with pytest.raises(ValueError, match="operator"):
        Constraint("k", ">", Decimal(5))  # type: ignore[arg-type]


def test_capability_construction_checks_order() -> None:
    a, b = Constraint("a", "=", "x"), Constraint("b", "=", "y")
    assert Capability(("s", "t"), (a, b)) == P("s:t,b=y,a=x")
    with pytest.raises(ValueError, match="sorted"):
        Capability(("s", "t"), (b, a))
    with pytest.raises(ValueError, match="sorted"):
        Capability(("s", "t"), (a, a))
    with pytest.raises(ValueError, match="scope"):
        Capability((), ())


# --- pact-auth 0.1.1 compatibility ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "storage:read",
        "storage:write",
        "storage",
        "github:*",
        "github:pr:create",
        "github:pr:create,repo=myorg/*",
        "email:send,to=*@mycompany.com",
        "*",
    ],
)
def test_pact_auth_common_forms_parse(text: str) -> None:
    theirs = pact.parse_capability(text)
    ours = P(text)
    assert theirs.raw == text
    assert ":".join(ours.scope) == f"{theirs.resource}:{theirs.action}" or ours.scope == ("*",)


@pytest.mark.parametrize(
    ("granted", "other"),
    [
        ("github:*", "github:pr:create"),
        ("storage:read", "storage:write"),
        ("storage", "storage:read"),
        ("*", "github:pr:create"),
        ("github:pr:create,repo=myorg/*", "github:pr:create,repo=myorg/app"),
        ("github:pr:create,repo=myorg/*", "github:pr:create,repo=other/app"),
        ("email:send,to=*@mycompany.com", "email:send,to=bob@mycompany.com"),
    ],
)
def test_pact_auth_agrees_on_common_forms(granted: str, other: str) -> None:
    theirs = pact.parse_capability(granted).covers(pact.parse_capability(other))
    assert covers(granted, other) is theirs


def test_cover_budget_refuses_costly_comparisons():
    granted = Capability.parse("files:read,path=/a/*/b/**/c*d")
    narrowed = Capability.parse("files:read,path=/a/x*/b/**/c*yd")
    assert granted.covers(narrowed)  # no budget: decided within the per-search limit
    _CONTAINMENT_CACHE.clear()
    with pytest.raises(LimitExceededError) as caught:
        granted.covers(narrowed, CoverBudget(states=2))
    assert caught.value.code == "chain_too_large"
    budget = CoverBudget()
    assert granted.covers(narrowed, budget)
    assert 0 < budget.states < CoverBudget().states
