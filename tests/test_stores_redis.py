"""The Redis stores against a real redis-server (see tests/redis_server.py)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone

import pytest
import redis.asyncio

from pact_asgi.errors import ErrorCode, RevocationError, StoreUnavailableError
from pact_asgi.identity import Identity, test_seed
from pact_asgi.revocation import Revocation
from pact_asgi.stores import RedisReplayCache, RedisRevocationStore, ReplayCache

pytestmark = pytest.mark.redis

T0 = datetime(2026, 12, 3, 17, 0, 0, tzinfo=timezone.utc)
KEY_A = "sha256:" + "a" * 64
KEY_B = "sha256:" + "b" * 64
NONCE = "bm9uY2Utb25lLTEyMzQ1Ng"
DELEGATION = "d-" + "1" * 32
OTHER = "d-" + "2" * 32


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def human(label: str) -> Identity:
    return Identity.from_seed(test_seed(label), type="human", name=label)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(redis_client, redis_prefix, clock) -> RedisReplayCache:
    return RedisReplayCache(redis_client, prefix=redis_prefix + "nonce:", clock=clock)


@pytest.fixture
def revocations(redis_client, redis_prefix) -> RedisRevocationStore:
    return RedisRevocationStore(redis_client, prefix=redis_prefix + "revoked:")


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port held bound but not listening: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
async def unreachable(refusing_port) -> AsyncIterator[redis.asyncio.Redis]:
    """A client of a Redis that is down; it does not retry, so the test is quick."""
    client = redis.asyncio.Redis(
        host="127.0.0.1", port=refusing_port, socket_timeout=1, retry=None
    )
    yield client
    await client.aclose()


# Replay cache


async def test_claim_new_then_replay(cache, redis_client):
    assert isinstance(cache, ReplayCache)
    until = T0 + timedelta(seconds=330)
    assert await cache.claim(KEY_A, NONCE, until) is True
    assert await cache.claim(KEY_A, NONCE, until) is False
    assert await cache.claim(KEY_A, NONCE + "x", until) is True
    assert await cache.claim(KEY_B, NONCE, until) is True
    assert await redis_client.get(cache.key_for(KEY_A, NONCE)) == b"1"


async def test_key_layout_and_ttl(cache, redis_client, redis_prefix):
    await cache.claim(KEY_A, NONCE, T0 + timedelta(seconds=60))
    key = f"{redis_prefix}nonce:71:{KEY_A}:{NONCE}"
    assert cache.key_for(KEY_A, NONCE) == key
    assert 59_000 < await redis_client.pttl(key) <= 60_000


async def test_delimiters_cannot_merge_two_pairs(cache):
    until = T0 + timedelta(seconds=10)
    assert await cache.claim("sha256:ab", "c", until) is True
    assert await cache.claim("sha256:a", "b:c", until) is True
    assert await cache.claim("sha256", "ab:c", until) is True
    assert len({cache.key_for("sha256:ab", "c"), cache.key_for("sha256:a", "b:c")}) == 2


async def test_redis_expires_the_pair(cache, clock):
    until = clock.now + timedelta(milliseconds=40)
    assert await cache.claim(KEY_A, NONCE, until) is True
    assert await cache.claim(KEY_A, NONCE, until) is False
    await asyncio.sleep(0.08)  # Redis's own clock runs the 40 ms down
    assert await cache.claim(KEY_A, NONCE, until) is True


async def test_until_in_the_past_is_still_recorded(cache, redis_client, clock):
    past = clock.now - timedelta(seconds=5)
    assert await cache.claim(KEY_A, NONCE, past) is True
    # Kept for a millisecond: PX must be positive, and nothing is left without expiry.
    assert await redis_client.pttl(cache.key_for(KEY_A, NONCE)) in (-2, 0, 1)


async def test_naive_until_is_refused(cache):
    with pytest.raises(ValueError, match="timezone-aware"):
        await cache.claim(KEY_A, NONCE, datetime(2026, 12, 3, 17, 0, 0))


async def test_two_instances_sharing_redis_refuse_replay_across(
    redis_url, redis_client, redis_prefix
):
    other_client = redis.asyncio.Redis.from_url(redis_url, socket_timeout=5)
    try:
        prefix = redis_prefix + "nonce:"
        first = RedisReplayCache(redis_client, prefix=prefix)
        second = RedisReplayCache(other_client, prefix=prefix)
        until = datetime.now(timezone.utc) + timedelta(seconds=30)

        assert await first.claim(KEY_A, NONCE, until) is True
        assert await second.claim(KEY_A, NONCE, until) is False

        # Racing claims of one pair through both instances: exactly one wins.
        racers = [first, second] * 10
        results = await asyncio.gather(*(c.claim(KEY_B, NONCE, until) for c in racers))
        assert results.count(True) == 1
    finally:
        await other_client.aclose()


async def test_unreachable_redis_refuses(unreachable):
    cache = RedisReplayCache(unreachable)
    with pytest.raises(StoreUnavailableError) as caught:
        await cache.claim(KEY_A, NONCE, datetime.now(timezone.utc) + timedelta(seconds=30))
    assert caught.value.error_code is ErrorCode.REPLAY_STORE_UNAVAILABLE
    assert caught.value.status == 503
    assert isinstance(caught.value.__cause__, redis.ConnectionError)


async def test_hanging_redis_refuses_after_the_client_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete, but nothing ever answers
        port = silent.getsockname()[1]
        client = redis.asyncio.Redis(host="127.0.0.1", port=port, socket_timeout=0.1, retry=None)
        try:
            cache = RedisReplayCache(client)
            with pytest.raises(StoreUnavailableError) as caught:
                await cache.claim(KEY_A, NONCE, datetime.now(timezone.utc) + timedelta(60))
            assert isinstance(caught.value.__cause__, redis.TimeoutError)
        finally:
            await client.aclose()


async def test_full_redis_refuses(cache, redis_client):
    # The documented configuration: a full Redis refuses writes instead of evicting.
    policy = await redis_client.config_get("maxmemory-policy")
    assert policy == {"maxmemory-policy": "noeviction"}
    until = T0 + timedelta(seconds=60)
    await redis_client.config_set("maxmemory", 1)
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            await cache.claim(KEY_A, NONCE, until)
        assert isinstance(caught.value.__cause__, redis.ResponseError)
    finally:
        await redis_client.config_set("maxmemory", 0)
    assert await cache.claim(KEY_A, NONCE, until) is True


# Revocation store


async def test_revocation_round_trip(revocations, redis_client, redis_prefix):
    alice, bob = human("alice"), human("bob")
    by_alice = Revocation.issue(alice, DELEGATION, "key leaked", now=T0)
    by_bob = Revocation.issue(bob, DELEGATION, now=T0)
    await revocations.add(by_alice, alice.entity)
    await revocations.add(by_bob, bob.entity)
    await revocations.add(Revocation.issue(bob, OTHER, now=T0), bob.entity)

    found = await revocations.lookup([DELEGATION, OTHER, "d-" + "3" * 32, DELEGATION])
    assert found == {DELEGATION: frozenset({alice.id, bob.id}), OTHER: frozenset({bob.id})}
    assert await revocations.lookup(["d-" + "3" * 32]) == {}

    # The documents are kept, readable by an operator.
    key = redis_prefix + "revoked:" + DELEGATION
    assert await redis_client.hget(key, alice.id) == by_alice.to_json().encode()
    assert await redis_client.ttl(key) == -1  # never expires
    listed = await revocations.revocations(DELEGATION)
    assert listed == tuple(sorted((by_alice, by_bob), key=lambda r: r.revoked_by))
    assert listed[[r.revoked_by for r in listed].index(alice.id)].reason == "key leaked"
    assert await revocations.revocations("d-" + "3" * 32) == ()


async def test_revocations_are_shared_between_instances(redis_url, revocations, redis_prefix):
    alice = human("alice")
    await revocations.add(Revocation.issue(alice, DELEGATION, now=T0), alice.entity)
    other_client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        other = RedisRevocationStore(other_client, prefix=redis_prefix + "revoked:")
        assert await other.lookup([DELEGATION]) == {DELEGATION: frozenset({alice.id})}
        (listed,) = await other.revocations(DELEGATION)
        assert listed.revoked_by == alice.id
    finally:
        await other_client.aclose()


async def test_forged_revocation_is_refused_and_not_written(
    revocations, redis_client, redis_prefix
):
    alice, mallory = human("alice"), human("mallory")
    wire = Revocation.issue(alice, DELEGATION, now=T0).to_dict()
    wire["delegation_id"] = OTHER
    for revocation, revoker in (
        (Revocation.from_dict(wire), alice.entity),
        (Revocation.issue(alice, DELEGATION, now=T0), mallory.entity),
    ):
        with pytest.raises(RevocationError) as caught:
            await revocations.add(revocation, revoker)
        assert caught.value.error_code is ErrorCode.REVOCATION_INVALID
    assert (
        await redis_client.exists(
            redis_prefix + "revoked:" + DELEGATION, redis_prefix + "revoked:" + OTHER
        )
        == 0
    )
    assert await revocations.lookup([DELEGATION, OTHER]) == {}


async def test_unreachable_redis_refuses_revocation_lookups(unreachable):
    alice = human("alice")
    store = RedisRevocationStore(unreachable)
    for attempt in (
        store.lookup([DELEGATION]),
        store.add(Revocation.issue(alice, DELEGATION, now=T0), alice.entity),
        store.revocations(DELEGATION),
    ):
        with pytest.raises(StoreUnavailableError) as caught:
            await attempt
        assert caught.value.error_code is ErrorCode.REVOCATION_STORE_UNAVAILABLE
        assert caught.value.status == 503
    # Nothing to look up needs no round trip, so it cannot fail.
    assert await store.lookup([]) == {}


async def test_redis_error_reply_refuses_lookup(revocations, redis_client, redis_prefix):
    await redis_client.set(redis_prefix + "revoked:" + DELEGATION, "not a hash")
    with pytest.raises(StoreUnavailableError) as caught:
        await revocations.lookup([OTHER, DELEGATION])
    assert caught.value.error_code is ErrorCode.REVOCATION_STORE_UNAVAILABLE
    assert isinstance(caught.value.__cause__, redis.ResponseError)


async def test_undecodable_revoker_id_refuses_lookup(revocations, redis_client, redis_prefix):
    await redis_client.hset(redis_prefix + "revoked:" + DELEGATION, b"\xff\xfe", b"{}")
    with pytest.raises(StoreUnavailableError) as caught:
        await revocations.lookup([DELEGATION])
    assert caught.value.error_code is ErrorCode.REVOCATION_STORE_UNAVAILABLE
