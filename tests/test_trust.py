from __future__ import annotations

import asyncio
import base64
import logging
from functools import partial

import pytest

from pact_asgi import (
    AnyRoot,
    Identity,
    StoreUnavailableError,
    TrustedRoots,
    TrustPolicy,
    TrustResolver,
    test_seed,
)
from pact_asgi.trust import as_trust_policy

ALICE = Identity.from_seed(test_seed("alice"), type="human", name="Alice")
BOB = Identity.from_seed(test_seed("bob"), type="human")


@pytest.mark.parametrize(
    "root",
    [
        ALICE.id,
        ALICE.public_key,
        ALICE.public_key + "=",  # padded base64url is the same key
        ALICE.entity,
        ALICE,
    ],
    ids=["id", "public-key", "padded-public-key", "entity", "identity"],
)
def test_trusted_roots_forms(root):
    policy = TrustedRoots([root])
    assert policy.ids == frozenset({ALICE.id})
    assert policy.resolve(ALICE.entity) == ALICE.id
    assert policy.resolve(BOB.entity) is None


def test_trusted_roots_single_value_and_several():
    assert TrustedRoots(ALICE.id).ids == frozenset({ALICE.id})
    assert TrustedRoots(ALICE).ids == frozenset({ALICE.id})
    both = TrustedRoots(iter([ALICE.public_key, BOB.entity]))
    assert both.resolve(BOB.entity) == BOB.id
    assert ALICE.id in repr(both)


async def test_trusted_roots_async_form():
    assert await TrustedRoots([ALICE]).aresolve(ALICE.entity) == ALICE.id


@pytest.mark.parametrize(
    "root",
    [
        "sha256:" + "A" * 64,  # upper-case hex
        "sha256:" + "a" * 63,
        "sha256:xyz",
        base64.b64encode(bytes(32)).decode().replace("A", "+", 1),  # standard alphabet
        "not a key",
        ALICE.public_key[:-2],  # 31 bytes
        "",
    ],
)
def test_bad_trusted_root_is_a_configuration_error(root):
    with pytest.raises(ValueError, match=r"identity id|public key"):
        TrustedRoots([root])


def test_trusted_roots_need_at_least_one_root():
    with pytest.raises(ValueError, match="at least one"):
        TrustedRoots([])


def test_trusted_root_of_wrong_type():
    with pytest.raises(TypeError):
        TrustedRoots([42])  # type: ignore[list-item]


def test_any_root_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="pact_asgi.trust"):
        policy = AnyRoot()
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "AnyRoot" in caplog.records[0].getMessage()
    assert policy.resolve(BOB.entity) == BOB.id


def test_sync_resolver():
    policy = TrustResolver({ALICE.id: "acct-1"}.get)
    assert not policy.is_async
    assert policy.resolve(ALICE.entity) == "acct-1"
    assert policy.resolve(BOB.entity) is None


async def test_async_resolver():
    async def lookup(root_id: str) -> object | None:
        await asyncio.sleep(0)
        return {"id": root_id} if root_id == ALICE.id else None

    policy = TrustResolver(lookup)
    assert policy.is_async
    assert await policy.aresolve(ALICE.entity) == {"id": ALICE.id}
    assert await policy.aresolve(BOB.entity) is None
    with pytest.raises(TypeError, match="async"):
        policy.resolve(ALICE.entity)


async def test_async_callable_object_and_partial():
    class Directory:
        async def __call__(self, root_id: str) -> object | None:
            return root_id

    async def lookup(table: dict[str, str], root_id: str) -> object | None:
        return table.get(root_id)

    assert TrustResolver(Directory()).is_async
    bound = TrustResolver(partial(lookup, {ALICE.id: "acct"}))
    assert bound.is_async
    assert await bound.aresolve(ALICE.entity) == "acct"


async def test_sync_resolver_returning_an_awaitable():
    async def answer() -> str:
        return "acct"

    pending: list[object] = []

    def lookup(root_id: str) -> object:
        pending.append(answer())
        return pending[-1]

    policy = TrustResolver(lookup)
    assert not policy.is_async
    with pytest.raises(TypeError, match="awaitable"):
        policy.resolve(ALICE.entity)
    refused = pending.pop()
    assert refused.cr_frame is None  # closed by resolve, so no "never awaited" warning
    assert await policy.aresolve(ALICE.entity) == "acct"


def test_resolver_must_be_callable():
    with pytest.raises(TypeError, match="function"):
        TrustResolver("alice")  # type: ignore[arg-type]


def test_as_trust_policy():
    policy = TrustedRoots([ALICE])
    assert as_trust_policy(policy) is policy
    wrapped = as_trust_policy({ALICE.id: 1}.get)
    assert isinstance(wrapped, TrustResolver)
    with pytest.raises(TypeError, match="TrustPolicy"):
        as_trust_policy(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [TrustedRoots, AnyRoot, TrustResolver])
def test_a_policy_class_is_not_a_resolver(cls):
    # TrustedRoots(root_id) is truthy: called as a resolver it would accept every root.
    with pytest.raises(TypeError, match="not a class"):
        as_trust_policy(cls)


async def test_custom_policy_gets_async_form_for_free():
    class OnlyHumans(TrustPolicy):
        def resolve(self, root):
            return root.id if root.type == "human" else None

    policy = OnlyHumans()
    assert await policy.aresolve(ALICE.entity) == ALICE.id
    agent = Identity.from_seed(test_seed("agent-1")).entity
    assert await policy.aresolve(agent) is None


def test_may_accept_is_a_cheap_first_answer():
    stranger = Identity.generate(type="human")
    assert TrustedRoots([ALICE]).may_accept(ALICE.entity)
    assert not TrustedRoots([ALICE]).may_accept(stranger.entity)
    # Policies that cannot answer cheaply leave the decision to resolve().
    assert TrustResolver(lambda root_id: None).may_accept(stranger.entity)


def test_failing_sync_resolver_is_unavailable_not_untrusted(caplog):
    def lookup(root_id: str) -> object:
        raise OSError("directory unreachable")

    with pytest.raises(StoreUnavailableError) as caught:
        TrustResolver(lookup).resolve(ALICE.entity)
    assert caught.value.code == "trust_unavailable"
    assert caught.value.status == 503
    assert caplog.records[-1].exc_info is not None


async def test_failing_async_resolver_is_unavailable_not_untrusted():
    async def lookup(root_id: str) -> object:
        raise OSError("directory unreachable")

    with pytest.raises(StoreUnavailableError) as caught:
        await TrustResolver(lookup).aresolve(ALICE.entity)
    assert caught.value.code == "trust_unavailable"
