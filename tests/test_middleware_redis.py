"""The middleware with the Redis stores, against a real redis-server (tests/redis_server.py).

Several instances of a provider (workers, hosts) share one Redis: a request accepted
by one is a replay to every other, and a revocation stored by one counts everywhere.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio
from middleware_kit import (
    DEFAULT_CHAIN,
    ROOT,
    T0,
    Reached,
    client,
    problem,
    protect,
    provider_app,
    sign,
)
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from pact_asgi.revocation import Revocation
from pact_asgi.stores import RedisReplayCache, RedisRevocationStore

pytestmark = pytest.mark.redis


def instance(redis_client, redis_prefix, clock, reached):
    """One provider process: its own middleware and caches, the shared Redis stores."""
    return protect(
        provider_app(reached),
        clock,
        replay=RedisReplayCache(redis_client, prefix=redis_prefix + "nonce:", clock=clock),
        revocations=RedisRevocationStore(redis_client, prefix=redis_prefix + "revoked:"),
    )


async def test_replay_to_a_second_instance_is_refused(redis_client, redis_prefix, clock):
    first_reached, second_reached = Reached(), Reached()
    first = instance(redis_client, redis_prefix, clock, first_reached)
    second = instance(redis_client, redis_prefix, clock, second_reached)
    headers = sign("GET", "/items/1")
    async with client(first) as http:
        accepted = await http.get("/items/1", headers=headers)
    async with client(second) as http:
        replayed = await http.get("/items/1", headers=headers)
        fresh = await http.get("/items/1", headers=sign("GET", "/items/1"))
    assert accepted.status_code == 200
    assert replayed.status_code == 401
    assert problem(replayed)["code"] == "replayed"
    assert fresh.status_code == 200
    assert (len(first_reached), len(second_reached)) == (1, 1)
    keys = [key async for key in redis_client.scan_iter(match=redis_prefix + "nonce:*")]
    assert len(keys) == 2


async def test_revocation_stored_by_one_instance_counts_in_another(
    redis_client, redis_prefix, clock
):
    reached = Reached()
    first = instance(redis_client, redis_prefix, clock, reached)
    second = instance(redis_client, redis_prefix, clock, reached)
    revocation = Revocation.issue(ROOT, DEFAULT_CHAIN[0].id, "rotated", now=T0)
    await first.revocations.add(revocation, ROOT.entity)
    async with client(second) as http:
        response = await http.get("/items/1", headers=sign("GET", "/items/1"))
    assert response.status_code == 401
    assert problem(response)["code"] == "delegation_revoked"
    assert len(reached) == 0


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port held bound but not listening: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
async def redis_down(refusing_port) -> AsyncIterator[redis.asyncio.Redis]:
    # No retries: the default backoff would only make the test slow.
    down = redis.asyncio.Redis(
        host="127.0.0.1", port=refusing_port, socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    yield down
    await down.aclose()


async def test_redis_down_refuses_every_signed_request(redis_down, redis_client, clock):
    reached = Reached()
    no_replay = protect(provider_app(reached), clock, replay=RedisReplayCache(redis_down))
    no_revocations = protect(
        provider_app(reached), clock, revocations=RedisRevocationStore(redis_down)
    )
    async with client(no_replay) as http:
        replay_down = await http.get("/items/1", headers=sign("GET", "/items/1"))
        public = await http.get("/health")
    async with client(no_revocations) as http:
        revocations_down = await http.get("/items/1", headers=sign("GET", "/items/1"))
    assert replay_down.status_code == 503
    assert problem(replay_down)["code"] == "replay_store_unavailable"
    assert revocations_down.status_code == 503
    assert problem(revocations_down)["code"] == "revocation_store_unavailable"
    assert "www-authenticate" not in replay_down.headers
    assert public.status_code == 200
    assert reached.paths == ["/health"]
