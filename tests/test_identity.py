from __future__ import annotations

import hashlib
import os
import stat

import pact  # the reference SDK, pact-auth
import pytest

from pact_asgi import Entity, Identity, IdentityError, MalformedError, derive_id, test_seed
from pact_asgi._encoding import b64url_encode
from pact_asgi.identity import is_small_order

# The eight small-order points of edwards25519 in their canonical encodings.
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]


def entity_dict(raw: bytes, **extra: str) -> dict[str, str]:
    data = {"type": "agent", "id": derive_id(raw), "public_key": b64url_encode(raw)}
    data.update(extra)
    return data


def test_seed_is_sha256_of_label():
    assert test_seed("alice") == hashlib.sha256(b"pact-test-vector:alice").digest()


@pytest.mark.parametrize("label", ["alice", "agent-1", "sub-agent", "ünïcode"])
def test_deterministic_identity_equals_pact_auth(label):
    ours = Identity.from_seed(test_seed(label), type="human", name=label)
    theirs = pact.identity_from_seed(pact.test_vector_seed(label), "human", label)
    assert ours.id == theirs.id
    assert ours.public_key == theirs.public_key
    assert ours.entity.to_dict() == theirs.to_entity_dict()


def test_id_is_sha256_of_raw_public_key():
    identity = Identity.generate()
    raw = identity.entity.key.public_bytes_raw()
    assert identity.id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert len(identity.public_key) == 43  # 32 bytes, base64url, no padding


def test_sign_verifies_with_entity():
    identity = Identity.generate(name="bot")
    signature = identity.sign(b"message")
    assert identity.entity.verify(signature, b"message")
    assert not identity.entity.verify(signature, b"other message")


def test_entity_round_trip_omits_empty_name():
    entity = Identity.generate().entity
    assert "name" not in entity.to_dict()
    assert Entity.from_dict(entity.to_dict()) == entity
    named = Identity.generate(type="human", name="alice").entity
    assert Entity.from_dict(named.to_dict()).name == "alice"


def test_entity_accepts_padded_public_key():
    raw = Identity.generate().entity.key.public_bytes_raw()
    data = entity_dict(raw)
    data["public_key"] += "="
    assert Entity.from_dict(data).id == derive_id(raw)


@pytest.mark.parametrize("encoded", SMALL_ORDER)
def test_small_order_keys_refused(encoded):
    raw = bytes.fromhex(encoded)
    assert is_small_order(raw)
    with pytest.raises(IdentityError) as caught:
        Entity.from_dict(entity_dict(raw))
    assert caught.value.code == "invalid_public_key"


def test_non_canonical_small_order_encoding_refused():
    # y = p + 1 encodes the identity point non-canonically.
    raw = ((2**255 - 19) + 1).to_bytes(32, "little")
    assert is_small_order(raw)


def test_id_not_matching_key_refused():
    raw = Identity.generate().entity.key.public_bytes_raw()
    data = entity_dict(raw)
    data["id"] = Identity.generate().id
    with pytest.raises(IdentityError) as caught:
        Entity.from_dict(data)
    assert caught.value.code == "identity_mismatch"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(type="robot"),
        lambda d: d.update(extra="x"),
        lambda d: d.pop("id"),
        lambda d: d.update(name=""),
        lambda d: d.update(name=7),
        lambda d: d.update(public_key=["x"]),
    ],
)
def test_malformed_entities_refused(mutate):
    data = entity_dict(Identity.generate().entity.key.public_bytes_raw())
    mutate(data)
    with pytest.raises(MalformedError) as caught:
        Entity.from_dict(data)
    assert caught.value.code == "malformed_document"


@pytest.mark.parametrize("public_key", ["AAAA", "!!notbase64!!", "A" * 44 + "="])
def test_bad_public_key_encodings_refused(public_key):
    data = entity_dict(Identity.generate().entity.key.public_bytes_raw())
    data["public_key"] = public_key
    with pytest.raises((MalformedError, IdentityError)):
        Entity.from_dict(data)


def test_save_and_load(tmp_path):
    identity = Identity.generate(type="human", name="alice")
    key_path, pub_path = identity.save(tmp_path / "alice.key")
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert pub_path == tmp_path / "alice.pub"
    loaded = Identity.load(key_path)
    assert loaded.id == identity.id
    assert (loaded.type, loaded.name) == ("human", "alice")
    assert Entity.load(pub_path) == identity.entity


def test_save_never_overwrites_unless_asked(tmp_path):
    first = Identity.generate()
    first.save(tmp_path / "a.key")
    second = Identity.generate()
    with pytest.raises(FileExistsError):
        second.save(tmp_path / "a.key")
    assert Identity.load(tmp_path / "a.key").id == first.id
    second.save(tmp_path / "a.key", overwrite=True)
    assert Identity.load(tmp_path / "a.key").id == second.id


def test_load_refuses_key_readable_by_others(tmp_path):
    key_path, _ = Identity.generate().save(tmp_path / "a.key")
    os.chmod(key_path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        Identity.load(key_path)


def test_load_refuses_entity_file_of_another_key(tmp_path):
    key_path, _ = Identity.generate().save(tmp_path / "a.key")
    Identity.generate().entity.save(tmp_path / "a.pub", overwrite=True)
    with pytest.raises(ValueError, match="another key"):
        Identity.load(key_path)


def test_from_seed_needs_32_bytes():
    with pytest.raises(ValueError, match="32 bytes"):
        Identity.from_seed(b"short")


def test_entity_built_directly_is_checked_too():
    entity = Identity.generate().entity
    assert Entity(entity.type, entity.id, entity.public_key).key is not None
    with pytest.raises(IdentityError) as caught:
        Entity("agent", Identity.generate().id, entity.public_key)
    assert caught.value.code == "identity_mismatch"
    with pytest.raises(IdentityError):
        Entity("agent", "sha256:" + "0" * 64, b64url_encode(bytes.fromhex(SMALL_ORDER[0])))
