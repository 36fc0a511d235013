"""Identities: Ed25519 key pairs named by the SHA-256 of their public key (protocol §1)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from pact_asgi._encoding import _check_text, b64url_decode, b64url_encode, loads_strict
from pact_asgi.errors import ErrorCode, IdentityError, MalformedError, PactError

__all__ = ["ENTITY_TYPES", "Entity", "Identity", "derive_id", "test_seed"]

ENTITY_TYPES = frozenset({"human", "agent"})
_ENTITY_KEYS = frozenset({"type", "id", "public_key", "name"})
_FIELD = 2**255 - 19
# The y coordinates of the eight small-order points (orders 1, 2, 4 and 8). Reducing an
# encoding's y modulo p also catches the non-canonical encodings of the same points.
_SMALL_ORDER_Y = frozenset(
    {
        0,
        1,
        _FIELD - 1,
        int.from_bytes(
            bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
            "little",
        ),
        int.from_bytes(
            bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
            "little",
        ),
    }
)


def derive_id(raw_public_key: bytes) -> str:
    """The identity id of a raw 32-byte public key: ``sha256:`` + lowercase hex."""
    return "sha256:" + hashlib.sha256(raw_public_key).hexdigest()


def test_seed(label: str) -> bytes:
    """Deterministic 32-byte seed for test vectors: SHA-256 of ``pact-test-vector:<label>``."""
    return hashlib.sha256(("pact-test-vector:" + label).encode("utf-8")).digest()


test_seed.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def is_small_order(raw_public_key: bytes) -> bool:
    """True when the encoding names one of the eight small-order Ed25519 points."""
    y = int.from_bytes(raw_public_key, "little") & ((1 << 255) - 1)
    return y % _FIELD in _SMALL_ORDER_Y


def load_public_key(encoded: object) -> tuple[bytes, Ed25519PublicKey]:
    """Decode a ``public_key`` field into raw bytes and a key object.

    Raises:
        MalformedError: not a base64url string.
        IdentityError: ``invalid_public_key`` for a wrong length, invalid or small-order key.
    """
    if not isinstance(encoded, str):
        raise MalformedError(ErrorCode.MALFORMED_DOCUMENT, "public_key must be a string")
    raw = b64url_decode(encoded)
    if len(raw) != 32:
        raise IdentityError(ErrorCode.INVALID_PUBLIC_KEY, "public key is not 32 bytes")
    if is_small_order(raw):
        raise IdentityError(ErrorCode.INVALID_PUBLIC_KEY, "public key has small order")
    try:
        key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise IdentityError(ErrorCode.INVALID_PUBLIC_KEY, "not an Ed25519 key") from exc
    return raw, key


@dataclass(frozen=True)
class Entity:
    """The public part of an identity, as embedded in delegations."""

    type: str
    id: str
    public_key: str
    name: str = ""
    key: Ed25519PublicKey = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Every entity, however built, holds a usable key that its id names (§1).
        raw, key = load_public_key(self.public_key)
        if derive_id(raw) != self.id:
            raise IdentityError(
                ErrorCode.IDENTITY_MISMATCH, "entity id does not match its key", key_id=self.id
            )
        object.__setattr__(self, "key", key)

    @classmethod
    def from_public_key(cls, raw: bytes, type: str = "agent", name: str = "") -> Entity:
        """Build an entity from a raw 32-byte public key.

        Raises:
            IdentityError: the key is not a usable Ed25519 public key.
        """
        if type not in ENTITY_TYPES:
            raise ValueError(f"entity type must be 'human' or 'agent', not {type!r}")
        return cls(type=type, id=derive_id(raw), public_key=b64url_encode(raw), name=name)

    @classmethod
    def from_dict(cls, data: object) -> Entity:
        """Parse and check an entity object: known keys only, id derived from the key.

        Raises:
            MalformedError: wrong shape or types.
            IdentityError: invalid or small-order key, or an id that is not the key's.
        """
        if not isinstance(data, dict):
            raise MalformedError(ErrorCode.MALFORMED_DOCUMENT, "entity must be an object")
        if not _ENTITY_KEYS.issuperset(data) or not {"type", "id", "public_key"} <= data.keys():
            raise MalformedError(ErrorCode.MALFORMED_DOCUMENT, "entity has wrong fields")
        kind, ident, name = data["type"], data["id"], data.get("name", "")
        if not isinstance(kind, str) or kind not in ENTITY_TYPES:
            raise MalformedError(ErrorCode.MALFORMED_DOCUMENT, "entity type is unknown")
        if not isinstance(ident, str) or not isinstance(name, str):
            raise MalformedError(ErrorCode.MALFORMED_DOCUMENT, "entity fields must be strings")
        _check_text(name)  # a lone surrogate has no UTF-8 form, so RFC 8785 cannot sign it
        if "name" in data and name == "":
            # pact-auth omits an empty name; accepting "" too would give two encodings.
            raise MalformedError(ErrorCode.MALFORMED_DOCUMENT, "empty entity name is omitted")
        return cls(type=kind, id=ident, public_key=data["public_key"], name=name)

    def to_dict(self) -> dict[str, str]:
        """The wire form; ``name`` is omitted when empty."""
        out = {"type": self.type, "id": self.id, "public_key": self.public_key}
        if self.name:
            out["name"] = self.name
        return out

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this entity's Ed25519 signature over ``message``."""
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def same_key(self, other: Entity) -> bool:
        """True when both name the same identity (same id and same public key)."""
        return self.id == other.id and self.public_key == other.public_key

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the entity as a small JSON file (public, mode 0644)."""
        target = Path(path)
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        _write_new(target, text.encode("utf-8"), mode=0o644, overwrite=overwrite)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Entity:
        """Read an entity JSON file written by :meth:`save` (or ``pact init``).

        Raises:
            OSError: the file cannot be read.
            PactError: its content is not a valid entity.
        """
        return cls.from_dict(loads_strict(Path(path).read_bytes()))


class Identity:
    """An Ed25519 key pair with a type and a name; it signs delegations and requests."""

    __slots__ = ("_entity", "_private_key")

    def __init__(
        self, private_key: Ed25519PrivateKey, type: str = "agent", name: str = ""
    ) -> None:
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._private_key = private_key
        self._entity = Entity.from_public_key(raw, type=type, name=name)

    @classmethod
    def generate(cls, type: str = "agent", name: str = "") -> Identity:
        """A fresh random identity."""
        return cls(Ed25519PrivateKey.generate(), type=type, name=name)

    @classmethod
    def from_seed(cls, seed: bytes, type: str = "agent", name: str = "") -> Identity:
        """A deterministic identity from a 32-byte Ed25519 seed."""
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is exactly 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed), type=type, name=name)

    @property
    def id(self) -> str:
        """``sha256:`` + hex of the SHA-256 of the raw public key."""
        return self._entity.id

    @property
    def public_key(self) -> str:
        """The raw public key, base64url without padding."""
        return self._entity.public_key

    @property
    def type(self) -> str:
        """``"human"`` or ``"agent"``."""
        return self._entity.type

    @property
    def name(self) -> str:
        """A label for people; not used by any check."""
        return self._entity.name

    @property
    def entity(self) -> Entity:
        """The public part, safe to share."""
        return self._entity

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The ``cryptography`` private key object."""
        return self._private_key

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._private_key.sign(data)

    def __repr__(self) -> str:
        return f"Identity(type={self.type!r}, id={self.id!r}, name={self.name!r})"

    def save(
        self,
        key_path: str | os.PathLike[str],
        public_path: str | os.PathLike[str] | None = None,
        *,
        overwrite: bool = False,
    ) -> tuple[Path, Path]:
        """Write the private key (PKCS#8 PEM, mode 0600) and the public entity file.

        The entity file defaults to ``key_path`` with the suffix ``.pub``. Existing files
        are never replaced unless ``overwrite`` is true.
        """
        key_target = Path(key_path)
        pub_target = Path(public_path) if public_path else key_target.with_suffix(".pub")
        if not overwrite:
            for existing in (key_target, pub_target):
                if existing.exists():
                    raise FileExistsError(f"{existing} exists; pass overwrite=True to replace")
        pem = self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_new(key_target, pem, mode=0o600, overwrite=overwrite)
        self._entity.save(pub_target, overwrite=overwrite)
        return key_target, pub_target

    @classmethod
    def load(
        cls,
        key_path: str | os.PathLike[str],
        public_path: str | os.PathLike[str] | None = None,
    ) -> Identity:
        """Read a private key written by :meth:`save`; type and name come from the entity file.

        Raises:
            PermissionError: the key file is readable by group or others.
            ValueError: the file is not an Ed25519 PKCS#8 key, or the entity file names
                another key.
        """
        key_file = Path(key_path)
        mode = key_file.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError(
                f"{key_file} is accessible by group or others (mode {mode & 0o777:o}); "
                "run: chmod 600 " + str(key_file)
            )
        try:
            private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{key_file} is not a PEM private key") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{key_file} does not hold an Ed25519 key")
        pub_file = Path(public_path) if public_path else key_file.with_suffix(".pub")
        kind, name = "agent", ""
        if pub_file.exists():
            try:
                entity = Entity.load(pub_file)
            except PactError as exc:
                raise ValueError(f"{pub_file} is not a valid entity file: {exc}") from exc
            kind, name = entity.type, entity.name
        identity = cls(private, type=kind, name=name)
        if pub_file.exists() and identity.id != entity.id:
            raise ValueError(f"{pub_file} describes another key than {key_file}")
        return identity


def _write_new(path: Path, data: bytes, *, mode: int, overwrite: bool) -> None:
    # O_EXCL makes "never overwrite" atomic; the mode is set at creation, so the key is
    # never readable by others, not even for an instant.
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, flags, mode)
    os.fchmod(fd, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
