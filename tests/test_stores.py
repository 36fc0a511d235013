"""The in-memory stores, the store interfaces, and the optional Redis extra."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pact.identity import Identity as PactAuthIdentity
from pact.revocation import new_revocation

from pact_asgi._encoding import b64url_encode, canonical
from pact_asgi.delegation import Delegation
from pact_asgi.errors import ErrorCode, RevocationError, StoreUnavailableError
from pact_asgi.identity import Identity, test_seed
from pact_asgi.revocation import Revocation
from pact_asgi.stores import (
    MemoryReplayCache,
    MemoryRevocationStore,
    ReplayCache,
    RevocationStore,
)

T0 = datetime(2026, 12, 3, 17, 0, 0, tzinfo=timezone.utc)
KEY_A = "sha256:" + "a" * 64
KEY_B = "sha256:" + "b" * 64
NONCE = "bm9uY2Utb25lLTEyMzQ1Ng"
REPO = Path(__file__).resolve().parent.parent


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def nonce(i: int) -> str:
    return f"nonce-{i:016d}"


# Replay cache


def test_interfaces_are_abstract():
    with pytest.raises(TypeError):
        ReplayCache()  # type: ignore[abstract]
    with pytest.raises(TypeError):
        RevocationStore()  # type: ignore[abstract]
    assert isinstance(MemoryReplayCache(), ReplayCache)
    assert isinstance(MemoryRevocationStore(), RevocationStore)


async def test_claim_new_then_replay(clock):
    cache = MemoryReplayCache(clock=clock)
    until = T0 + timedelta(seconds=330)
    assert await cache.claim(KEY_A, NONCE, until) is True
    assert await cache.claim(KEY_A, NONCE, until) is False
    assert await cache.claim(KEY_A, NONCE + "x", until) is True
    assert await cache.claim(KEY_B, NONCE, until) is True
    assert len(cache) == 3


async def test_pairs_are_not_confused_by_delimiters(clock):
    cache = MemoryReplayCache(clock=clock)
    until = T0 + timedelta(seconds=10)
    assert await cache.claim("sha256:ab", "c", until) is True
    assert await cache.claim("sha256:a", "b:c", until) is True
    assert await cache.claim("sha256", "ab:c", until) is True
    assert await cache.claim("", "sha256:ab:c", until) is True


async def test_expired_pair_can_be_claimed_again(clock):
    cache = MemoryReplayCache(clock=clock)
    until = T0 + timedelta(seconds=10)
    assert await cache.claim(KEY_A, NONCE, until)

    clock.advance(9.999)
    assert await cache.claim(KEY_A, NONCE, until) is False

    clock.advance(0.001)  # now == until: the signature is no longer fresh
    later = clock.now + timedelta(seconds=10)
    assert await cache.claim(KEY_A, NONCE, later) is True
    assert await cache.claim(KEY_A, NONCE, later) is False


async def test_fractional_until_is_kept_at_least_that_long(clock):
    cache = MemoryReplayCache(clock=clock)
    until = T0 + timedelta(seconds=5, milliseconds=1)
    assert await cache.claim(KEY_A, NONCE, until)
    clock.advance(5.001)
    assert await cache.claim(KEY_A, NONCE, until) is False  # rounded up, never down
    clock.advance(0.999)
    assert await cache.claim(KEY_A, NONCE, until) is True


async def test_until_in_the_past_is_still_recorded(clock):
    cache = MemoryReplayCache(clock=clock)
    past = T0 - timedelta(seconds=5)
    assert await cache.claim(KEY_A, NONCE, past) is True
    assert await cache.claim(KEY_A, NONCE, past) is False
    clock.advance(1)
    assert await cache.claim(KEY_A, NONCE, past) is True


async def test_full_cache_refuses_and_never_evicts_live_entries(clock):
    cache = MemoryReplayCache(max_entries=3, clock=clock)
    until = T0 + timedelta(seconds=60)
    for i in range(3):
        assert await cache.claim(KEY_A, nonce(i), until)

    with pytest.raises(StoreUnavailableError) as caught:
        await cache.claim(KEY_A, nonce(3), until)
    assert caught.value.error_code is ErrorCode.REPLAY_STORE_UNAVAILABLE
    assert caught.value.status == 503
    assert caught.value.key_id == KEY_A

    # Every live pair is still remembered: a replay is a replay, not "store full".
    clock.advance(59)
    for i in range(3):
        assert await cache.claim(KEY_A, nonce(i), until) is False
    with pytest.raises(StoreUnavailableError):
        await cache.claim(KEY_B, nonce(0), until)
    assert len(cache) == 3


async def test_expired_entries_are_purged_and_free_room(clock):
    cache = MemoryReplayCache(max_entries=4, clock=clock)
    for i in range(4):
        # Spread over two expiry seconds.
        await cache.claim(KEY_A, nonce(i), T0 + timedelta(seconds=10 + i % 2))
    with pytest.raises(StoreUnavailableError):
        await cache.claim(KEY_A, nonce(9), T0 + timedelta(seconds=30))

    clock.advance(10)  # the first second's two entries expire
    assert await cache.claim(KEY_A, nonce(10), T0 + timedelta(seconds=30))
    assert await cache.claim(KEY_A, nonce(11), T0 + timedelta(seconds=30))
    assert len(cache) == 4
    with pytest.raises(StoreUnavailableError):
        await cache.claim(KEY_A, nonce(12), T0 + timedelta(seconds=30))

    clock.advance(100)  # everything expires; one claim purges it all
    assert await cache.claim(KEY_B, nonce(0), clock.now + timedelta(seconds=1))
    assert len(cache) == 1


async def test_concurrent_claims_of_one_pair_yield_one_success(clock):
    cache = MemoryReplayCache(clock=clock)
    until = T0 + timedelta(seconds=60)
    results = await asyncio.gather(*(cache.claim(KEY_A, NONCE, until) for _ in range(50)))
    assert results.count(True) == 1


def test_claims_from_several_threads_yield_one_success(clock):
    cache = MemoryReplayCache(clock=clock)
    until = T0 + timedelta(seconds=60)

    def claim_all() -> list[bool]:
        async def run() -> list[bool]:
            return [await cache.claim(KEY_A, nonce(i), until) for i in range(500)]

        return asyncio.run(run())

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = [future.result() for future in [pool.submit(claim_all) for _ in range(4)]]
    for i in range(500):
        assert sum(outcome[i] for outcome in outcomes) == 1
    assert len(cache) == 500


async def test_naive_until_is_refused(clock):
    cache = MemoryReplayCache(clock=clock)
    with pytest.raises(ValueError, match="timezone-aware"):
        await cache.claim(KEY_A, NONCE, datetime(2026, 12, 3, 17, 0, 0))


@pytest.mark.parametrize(("bad", "error"), [(0, ValueError), (-1, ValueError), ("10", TypeError)])
def test_max_entries_is_checked(bad, error):
    with pytest.raises(error):
        MemoryReplayCache(max_entries=bad)


async def test_default_clock_is_the_wall_clock():
    cache = MemoryReplayCache()
    until = datetime.now(timezone.utc) + timedelta(seconds=5)
    assert await cache.claim(KEY_A, NONCE, until) is True
    assert await cache.claim(KEY_A, NONCE, until) is False


async def test_memory_per_entry_stays_small(clock):
    """Live pairs hold well under 200 bytes each (about 100 measured at 100,000 pairs)."""
    cache = MemoryReplayCache(clock=clock)
    count = 25_000
    pairs = [(f"sha256:{i % 97:064x}", f"AAAAAAAAAAAAAAAAAAAA{i:08d}") for i in range(count)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i, (key_id, value) in enumerate(pairs):
            # A signature's freshness window is ~330 s, so entries spread over that many seconds.
            await cache.claim(key_id, value, T0 + timedelta(seconds=300 + i % 330))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) == count
    assert held / count < 200, f"{held / count:.0f} bytes per entry"


# Revocation store


def human(label: str = "alice") -> Identity:
    return Identity.from_seed(test_seed(label), type="human", name=label)


DELEGATION = "d-" + "1" * 32
OTHER = "d-" + "2" * 32


async def test_add_verified_revocation_and_lookup():
    alice = human("alice")
    store = MemoryRevocationStore()
    revocation = Revocation.issue(alice, DELEGATION, "key leaked", now=T0)

    await store.add(revocation, alice.entity)

    assert await store.lookup([DELEGATION, OTHER]) == {DELEGATION: frozenset({alice.id})}
    assert await store.lookup([OTHER]) == {}
    assert await store.lookup([]) == {}
    assert store.revokers(DELEGATION) == frozenset({alice.id})
    assert store.revokers(OTHER) == frozenset()
    assert await store.revocations(DELEGATION) == (revocation,)
    assert await store.revocations(OTHER) == ()


async def test_several_revokers_of_one_delegation():
    alice, bob = human("alice"), human("bob")
    store = MemoryRevocationStore()
    await store.add(Revocation.issue(alice, DELEGATION, now=T0), alice.entity)
    await store.add(Revocation.issue(bob, DELEGATION, "done", now=T0), bob.entity)
    await store.add(Revocation.issue(bob, OTHER, now=T0), bob.entity)

    both = frozenset({alice.id, bob.id})
    assert await store.lookup([DELEGATION, OTHER]) == {
        DELEGATION: both,
        OTHER: frozenset({bob.id}),
    }
    assert store.snapshot() == {DELEGATION: both, OTHER: frozenset({bob.id})}
    assert [r.revoked_by for r in await store.revocations(DELEGATION)] == sorted(both)
    assert len(store) == 2


async def test_same_revoker_again_replaces_the_document():
    alice = human("alice")
    store = MemoryRevocationStore()
    await store.add(Revocation.issue(alice, DELEGATION, "first", now=T0), alice.entity)
    newer = Revocation.issue(alice, DELEGATION, "second", now=T0 + timedelta(hours=1))
    await store.add(newer, alice.entity)
    assert store.revokers(DELEGATION) == frozenset({alice.id})
    assert await store.revocations(DELEGATION) == (newer,)


async def test_forged_signature_is_refused_and_not_stored():
    alice = human("alice")
    wire = Revocation.issue(alice, DELEGATION, "honest reason", now=T0).to_dict()
    wire["delegation_id"] = OTHER  # the signature covered the other id
    forged = Revocation.from_dict(wire)
    store = MemoryRevocationStore()

    with pytest.raises(RevocationError) as caught:
        await store.add(forged, alice.entity)
    assert caught.value.error_code is ErrorCode.REVOCATION_INVALID
    assert await store.lookup([DELEGATION, OTHER]) == {}
    assert store.snapshot() == {}


async def test_revocation_checked_against_another_key_is_refused():
    alice, mallory = human("alice"), human("mallory")
    store = MemoryRevocationStore()
    by_alice = Revocation.issue(alice, DELEGATION, now=T0)

    with pytest.raises(RevocationError) as caught:
        await store.add(by_alice, mallory.entity)
    assert caught.value.error_code is ErrorCode.REVOCATION_INVALID
    assert store.snapshot() == {}


async def test_revocation_naming_a_revoker_who_did_not_sign_it_is_refused():
    alice, mallory = human("alice"), human("mallory")
    # Mallory writes Alice's id as the revoker and signs with her own key.
    wire = Revocation.issue(mallory, DELEGATION, now=T0).to_dict()
    wire["revoked_by"] = alice.id
    wire["signature"] = ""
    wire["signature"] = b64url_encode(mallory.sign(canonical(wire)))
    claimed = Revocation.from_dict(wire)
    store = MemoryRevocationStore()

    for revoker in (alice.entity, mallory.entity):
        with pytest.raises(RevocationError) as caught:
            await store.add(claimed, revoker)
        assert caught.value.error_code is ErrorCode.REVOCATION_INVALID
    assert store.snapshot() == {}


def test_sync_interface_for_callers_without_a_loop():
    alice, bob = human("alice"), human("bob")
    first = Revocation.issue(alice, DELEGATION, now=T0)
    store = MemoryRevocationStore([(first, alice.entity)])
    store.add_sync(Revocation.issue(bob, DELEGATION, now=T0), bob.entity)
    assert store.revokers(DELEGATION) == frozenset({alice.id, bob.id})
    with pytest.raises(RevocationError):
        store.add_sync(first, bob.entity)
    with pytest.raises(RevocationError):
        MemoryRevocationStore([(first, bob.entity)])


async def test_revocation_issued_by_pact_auth_is_accepted():
    alice = human("alice")
    theirs = PactAuthIdentity(
        type="human", id=alice.id, public_key=alice.public_key, private_key=alice.private_key
    )
    wire = new_revocation(DELEGATION, theirs, reason="rotated").to_dict()
    store = MemoryRevocationStore()
    await store.add(Revocation.from_dict(wire), alice.entity)
    assert await store.lookup([DELEGATION]) == {DELEGATION: frozenset({alice.id})}
    (stored,) = await store.revocations(DELEGATION)
    assert stored.to_dict() == wire


# The optional extra

WITHOUT_REDIS = """
import sys
sys.modules["redis"] = None  # as if the package were not installed
import pact_asgi
from pact_asgi.stores import MemoryReplayCache, RedisReplayCache, RedisRevocationStore
MemoryReplayCache()
for store in (RedisReplayCache, RedisRevocationStore):
    try:
        store(object())
    except ImportError as exc:
        print(exc)
    else:
        raise SystemExit("constructed without redis")
"""


def test_without_redis_importing_works_and_constructing_names_the_extra():
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", WITHOUT_REDIS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all("pip install 'pact-asgi[redis]'" in line for line in lines)


async def test_add_takes_the_chain_holding_the_revoked_link():
    # The chain supplies the revoker's key and decides whether it may revoke (§7).
    alice, agent, sub = human(), Identity.generate(), Identity.generate()
    root = Delegation.issue(alice, agent, ["api:*"], ttl=timedelta(hours=1), max_chain_depth=2)
    leaf = Delegation.issue(agent, sub, ["api:read"], ttl=timedelta(hours=1), parent=root)
    store = MemoryRevocationStore()

    await store.add(Revocation.issue(alice, leaf.id), [root, leaf])  # from above: entitled
    assert await store.lookup([leaf.id]) == {leaf.id: frozenset({alice.id})}

    with pytest.raises(RevocationError) as caught:
        await store.add(Revocation.issue(sub, leaf.id), [root, leaf])  # the delegate: not
    assert caught.value.code == ErrorCode.REVOCATION_UNAUTHORIZED.value
    assert store.revokers(leaf.id) == frozenset({alice.id})
