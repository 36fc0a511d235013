"""The ``pact`` command: create identities, issue, inspect, verify and revoke delegations,
and send signed requests.

Files live in one home directory, by default the platform's configuration directory
(``platformdirs.user_config_dir("pact")``), else ``--home`` or ``$PACT_HOME``::

    identity.key       this identity's private key (PKCS#8 PEM, mode 0600)
    identity.pub       its public entity: share it, it is what others delegate to
    chain.json         the chain this identity acts under (pact request reads it)
    issued/<id>.json   chains this identity issued (pact delegate writes them)
    revocations.json   revocations this identity signed (pact revoke appends to it)

Every command also takes explicit paths. Errors print one line, ``error: ...``, on
standard error: exit code 2 for unusable input (a missing or malformed file, a bad
argument, a refused delegation), 1 for a chain or request that does not verify.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

try:
    import click
    import platformdirs
except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ModuleNotFoundError(
        f"the pact command needs {exc.name!r}: pip install 'pact-asgi[cli]'"
    ) from exc

from pact_asgi._encoding import format_time, loads_strict, parse_time
from pact_asgi.chain import check_current, decode_chain, verify_chain, verify_links
from pact_asgi.delegation import DEFAULT_LIMITS, Delegation
from pact_asgi.errors import PactError, RevocationError
from pact_asgi.identity import ENTITY_TYPES, Entity, Identity
from pact_asgi.revocation import Revocation, revocation_map
from pact_asgi.trust import TrustedRoots

__all__ = [
    "CommandError",
    "Home",
    "VerificationFailed",
    "cli",
    "main",
    "parse_ttl",
    "split_capabilities",
]

MAX_FILE_BYTES = 1024 * 1024
MAX_TTL = timedelta(days=366)
_TTL = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DELEGATION_ID = re.compile(r"d-[0-9a-f]{32}")
# A comma piece holding "=" or "<" is a constraint of the capability before it (§5):
# scope segments never contain those characters, so the split is unambiguous.
_CONSTRAINT_PIECE = re.compile(r"[A-Za-z0-9_.-]+(?:=|<)")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 §5.6.2
_SIGNED_HEADERS = frozenset({"pact-chain", "signature", "signature-input", "content-digest"})


class CommandError(click.ClickException):
    """Unusable input: a missing or malformed file, a bad argument, a refused grant."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class VerificationFailed(CommandError):
    """A chain or a request that does not verify."""

    exit_code = 1


def _fail(message: str, exit_code: int = 2) -> NoReturn:
    raise VerificationFailed(message) if exit_code == 1 else CommandError(message)


def _pact_detail(exc: PactError) -> str:
    return f"{exc.detail} ({exc.code})"


def _os_detail(exc: OSError) -> str:
    if exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror.lower()}"
    return str(exc)


class _Group(click.Group):
    """A group whose every failure, usage errors included, is one line and an exit code."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; print ``error: ...`` and exit non-zero instead of a traceback."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            hint = ""
            if isinstance(exc, click.UsageError) and not isinstance(exc, CommandError):
                hint = " (see pact --help)"
            click.echo(f"error: {' '.join(exc.format_message().split())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        # Last line of defence: a refusal that no command turned into its own message.
        except PactError as exc:
            click.echo(f"error: {_pact_detail(exc)}", err=True)
            sys.exit(2)
        except OSError as exc:
            click.echo(f"error: {_os_detail(exc)}", err=True)
            sys.exit(2)
        except ValueError as exc:
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)
            sys.exit(2)
        if standalone_mode and isinstance(result, int):
            sys.exit(result)
        return result


@dataclass(frozen=True)
class Home:
    """Where the command keeps its files."""

    root: Path

    @property
    def key(self) -> Path:
        """The private key of this identity."""
        return self.root / "identity.key"

    @property
    def chain(self) -> Path:
        """The chain this identity acts under."""
        return self.root / "chain.json"

    @property
    def issued(self) -> Path:
        """The folder of chains this identity issued."""
        return self.root / "issued"

    @property
    def revocations(self) -> Path:
        """The revocations this identity signed."""
        return self.root / "revocations.json"


# -- reading and writing files --------------------------------------------------------


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        _fail(f"{path}: no such {what}")
    except IsADirectoryError:
        _fail(f"{path} is a directory, not a {what}")
    except OSError as exc:
        _fail(f"cannot read {what} {_os_detail(exc)}")
    if len(data) > MAX_FILE_BYTES:
        _fail(f"{path} is larger than {MAX_FILE_BYTES} bytes; it is no {what}")
    return data


def _load_identity(path: Path) -> Identity:
    if not path.exists():
        _fail(f"no identity at {path}; create one with: pact init --name NAME (or pass --key)")
    try:
        return Identity.load(path)
    except PermissionError as exc:
        _fail(_os_detail(exc))
    except OSError as exc:
        _fail(f"cannot read identity {_os_detail(exc)}")
    except ValueError as exc:
        _fail(str(exc))


def _load_entity(path: Path) -> Entity:
    data = _read(path, "public identity file")
    try:
        return Entity.from_dict(loads_strict(data))
    except PactError as exc:
        _fail(
            f"{path} is not a public identity file (pact init writes one ending in .pub): "
            f"{_pact_detail(exc)}"
        )


def _load_chain(path: Path) -> list[Delegation]:
    data = _read(path, "chain file")
    try:
        text = data.decode("utf-8").strip()
        if text.startswith(("[", "{")):
            documents = loads_strict(text)
            if isinstance(documents, dict):
                documents = [documents]
            if not isinstance(documents, list) or not documents:
                _fail(f"{path} is not a chain file: expected a JSON array of delegations")
            if len(documents) > DEFAULT_LIMITS.max_links:
                _fail(
                    f"{path} has {len(documents)} links; "
                    f"at most {DEFAULT_LIMITS.max_links} are allowed"
                )
            return [Delegation.from_dict(document) for document in documents]
        if not text:
            _fail(f"{path} is empty; expected a JSON array of delegations")
    except UnicodeDecodeError:
        _fail(f"{path} is not a chain file: not UTF-8 text")
    except PactError as exc:
        _fail(f"{path} is not a valid chain file: {_pact_detail(exc)}")
    # Also read a Pact-Chain header value copied from a request or a log.
    try:
        return decode_chain(text)
    except PactError as exc:
        _fail(
            f"{path} is neither a JSON array of delegations nor a Pact-Chain header value: "
            f"{_pact_detail(exc)}"
        )


def _load_revocations(path: Path) -> list[Revocation]:
    data = _read(path, "revocations file")
    try:
        documents = loads_strict(data)
        if isinstance(documents, dict):
            documents = [documents]
        if not isinstance(documents, list):
            _fail(f"{path} is not a revocations file: expected a JSON array")
        return [Revocation.from_dict(document) for document in documents]
    except PactError as exc:
        _fail(f"{path} is not a valid revocations file: {_pact_detail(exc)}")


def _write(path: Path, text: str, *, force: bool, mode: int = 0o644) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, mode)
    except FileExistsError:
        _fail(f"{path} exists; pass --force to replace it")
    except OSError as exc:
        _fail(f"cannot write {_os_detail(exc)}")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _replace(path: Path, text: str) -> None:
    # Write beside the target, then rename: a crash never leaves half a file.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        _fail(f"cannot write {_os_detail(exc)}")


def _chain_text(chain: Sequence[Delegation]) -> str:
    return json.dumps([link.to_dict() for link in chain], indent=2) + "\n"


# -- arguments --------------------------------------------------------------------------


def parse_ttl(text: str) -> timedelta:
    """A duration such as ``90s``, ``15m``, ``1h``, ``1h30m``, ``7d`` or ``2w``."""
    match = _TTL.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"--ttl {text!r} is not a duration like 15m, 1h, 1h30m or 7d")
    weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    ttl = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise ValueError(f"--ttl must be more than 0s and at most {MAX_TTL.days}d")
    return ttl


def split_capabilities(values: Sequence[str]) -> list[str]:
    """Capabilities from ``--capabilities`` values: comma-separated, constraints kept.

    ``"api:read,api:write,max_cost<100"`` gives ``api:read`` and
    ``api:write,max_cost<100``: a piece with ``=`` or ``<`` is a constraint (§5).
    """
    found: list[str] = []
    for value in values:
        for piece in (part.strip() for part in value.split(",")):
            if not piece:
                raise ValueError(f"--capabilities {value!r} has an empty item")
            if _CONSTRAINT_PIECE.match(piece):
                if not found:
                    raise ValueError(f"constraint {piece!r} comes before any capability")
                found[-1] += "," + piece
            else:
                found.append(piece)
    if not found:
        raise ValueError("--capabilities names no capability")
    return found


def _when(moment: datetime, now: datetime) -> str:
    delta = moment - now
    span = _span(abs(delta))
    return f"{format_time(moment)} ({'in ' + span if delta >= timedelta(0) else span + ' ago'})"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            smaller = {"d": ("h", 3600), "h": ("m", 60), "m": ("s", 1)}[unit]
            part = rest // smaller[1]
            return f"{whole}{unit}{part}{smaller[0]}" if part else f"{whole}{unit}"
    return f"{seconds}s"


def _printable(text: str) -> str:
    # Names come from files others wrote: show control characters, never obey them.
    if text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


def _who(entity: Entity) -> str:
    label = f"{_printable(entity.name)} " if entity.name else ""
    return f"{label}({entity.type}) {entity.id}"


def _now(at: str | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    try:
        return parse_time(at, "--at")
    except PactError:
        _fail(f"--at {at!r} is not an RFC 3339 time such as 2026-01-31T12:00:00Z")


# -- commands ---------------------------------------------------------------------------


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PACT_HOME",
    help="Directory of the identity and its files (default: the platform's config dir).",
)
@click.version_option(package_name="pact-asgi", prog_name="pact")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """Pact: identities, delegations and signed requests for AI agents."""
    ctx.obj = Home(home if home is not None else Path(platformdirs.user_config_dir("pact")))


_key_option = click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private key file of the identity to use (default: <home>/identity.key).",
)


@cli.command()
@click.option("--name", required=True, help="A label for people, e.g. alice.")
@click.option(
    "--type",
    "kind",
    type=click.Choice(sorted(ENTITY_TYPES)),
    default="agent",
    show_default=True,
    help="Who holds the identity.",
)
@_key_option
@click.option("--force", is_flag=True, help="Replace an existing identity (its key is lost).")
@click.pass_obj
def init(home: Home, name: str, kind: str, key_path: Path | None, force: bool) -> None:
    """Create an identity: a private key and its .pub file.

    The key file gets mode 0600; share the .pub file with whoever delegates to you.
    """
    if not name.strip() or len(name) > 128 or not name.isprintable():
        _fail("--name must be 1 to 128 printable characters")
    key_file = key_path or home.key
    pub_file = key_file.with_suffix(".pub")
    if not force:
        for existing in (key_file, pub_file):
            if existing.exists():
                _fail(f"{existing} exists; pass --force to replace it (the old key is lost)")
    identity = Identity.generate(type=kind, name=name)
    try:
        identity.save(key_file, pub_file, overwrite=force)
    except OSError as exc:
        _fail(f"cannot write identity {_os_detail(exc)}")
    click.echo(f"created {kind} identity {name}")
    click.echo(f"id          {identity.id}")
    click.echo(f"private key {key_file} (mode 0600, keep it secret)")
    click.echo(f"public file {pub_file} (share it: others delegate to it)")


@cli.command()
@click.argument("entity_file", required=False, type=click.Path(path_type=Path))
@_key_option
@click.pass_obj
def show(home: Home, entity_file: Path | None, key_path: Path | None) -> None:
    """Print an identity's id, type, name and public key.

    Without an argument, your own; with ENTITY_FILE, that public identity file's.
    """
    if entity_file is not None:
        entity = _load_entity(entity_file)
        files = [("public file", entity_file)]
    else:
        key_file = key_path or home.key
        entity = _load_identity(key_file).entity
        files = [("private key", key_file), ("public file", key_file.with_suffix(".pub"))]
    click.echo(f"id          {entity.id}")
    click.echo(f"type        {entity.type}")
    click.echo(f"name        {_printable(entity.name) or '-'}")
    click.echo(f"public key  {entity.public_key}")
    for label, path in files:
        click.echo(f"{label:<11} {path}")


@cli.command()
@click.option(
    "--to",
    "to_file",
    required=True,
    type=click.Path(path_type=Path),
    help="Public identity file (.pub) of the delegate.",
)
@click.option(
    "--capabilities",
    "-c",
    "capability_values",
    required=True,
    multiple=True,
    help='Comma-separated, e.g. "api:read,api:write"; constraints stay with their '
    'capability: "api:write,max_cost<100".',
)
@click.option("--ttl", default="1h", show_default=True, help="Lifetime: 15m, 1h, 7d...")
@click.option(
    "--max-depth",
    type=int,
    default=1,
    show_default=True,
    help="Links allowed from this one to the end (2 lets the delegate delegate once).",
)
@click.option(
    "--chain",
    "parent_file",
    type=click.Path(path_type=Path),
    help="Sub-delegate: extend this chain, which must delegate to you.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Where to write the chain ('-' for stdout; default: <home>/issued/<id>.json).",
)
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@_key_option
@click.pass_obj
def delegate(
    home: Home,
    to_file: Path,
    capability_values: tuple[str, ...],
    ttl: str,
    max_depth: int,
    parent_file: Path | None,
    out: Path | None,
    force: bool,
    key_path: Path | None,
) -> None:
    """Grant capabilities and write the chain file.

    With --chain, extend a chain that delegates to you: the new link must narrow it.
    """
    try:
        lifetime = parse_ttl(ttl)
        capabilities = split_capabilities(capability_values)
    except ValueError as exc:
        _fail(str(exc))
    if not 1 <= max_depth <= DEFAULT_LIMITS.max_links:
        _fail(f"--max-depth must be from 1 to {DEFAULT_LIMITS.max_links}")
    issuer = _load_identity(key_path or home.key)
    to = _load_entity(to_file)
    parent: list[Delegation] = []
    if parent_file is not None:
        parent = _load_chain(parent_file)
        try:
            verify_links(parent)
        except PactError as exc:
            _fail(f"{parent_file} does not verify: {_pact_detail(exc)}")
        if not issuer.entity.same_key(parent[-1].to_entity):
            _fail(
                f"{parent_file} delegates to {parent[-1].to_entity.id}, not to you "
                f"({issuer.id}); only its delegate can extend it"
            )

    try:
        link = Delegation.issue(
            issuer,
            to,
            capabilities,
            ttl=lifetime,
            max_chain_depth=max_depth,
            parent=parent or None,
        )
    except PactError as exc:
        _fail(f"cannot delegate: {_pact_detail(exc)}")
    except ValueError as exc:
        _fail(f"cannot delegate: {exc}")
    chain = [*parent, link]

    target = out or home.issued / f"{link.id}.json"
    if str(target) == "-":
        click.echo(_chain_text(chain), nl=False)
    else:
        _write(target, _chain_text(chain), force=force)
    now = datetime.now(timezone.utc)
    lines = [
        f"delegated {link.id}",
        f"  to           {_who(to)}",
        f"  capabilities {'; '.join(link.capabilities)}",
        f"  until        {_when(link.expires, now)}",
        f"  max depth    {link.max_chain_depth}",
    ]
    if link.expires < link.issued_at + lifetime:
        lines.append("  note         expiry cut to the parent chain's")
    if link.max_chain_depth < max_depth:
        lines.append(f"  note         max depth cut to {link.max_chain_depth} by the parent")
    if str(target) != "-":
        lines.append(f"wrote chain of {len(chain)} link(s) to {target}")
    for line in lines:
        click.echo(line, err=str(target) == "-")


@cli.command()
@click.argument("chain_file", type=click.Path(path_type=Path))
@click.option("--at", help="Judge the time windows at this RFC 3339 time instead of now.")
def inspect(chain_file: Path, at: str | None) -> None:
    """Show each link of a chain and whether it verifies.

    Signatures, continuity, narrowing, depth and time are checked; trust is not (use
    pact verify). Exit code 1 when the chain does not verify.
    """
    chain = _load_chain(chain_file)
    now = _now(at)
    click.echo(f"{chain_file}: {len(chain)} link(s), root first")
    for i, link in enumerate(chain):
        click.echo("")
        click.echo(f"[{i}] {link.id}")
        click.echo(f"    from       {_who(link.from_entity)}")
        click.echo(f"    to         {_who(link.to_entity)}")
        click.echo(f"    grants     {'; '.join(link.capabilities)}")
        if link.not_before is not None:
            click.echo(f"    not before {_when(link.not_before, now)}")
        click.echo(f"    expires    {_when(link.expires, now)}")
        click.echo(f"    issued     {format_time(link.issued_at)}")
        click.echo(f"    max depth  {link.max_chain_depth}")
        for label, problem in _link_checks(chain, i, now):
            click.echo(f"    {label:<10} {problem or 'ok'}")

    click.echo("")
    try:
        verified = verify_links(chain)
        check_current(verified, now=now)
    except PactError as exc:
        _fail(f"{chain_file} does not verify: {_pact_detail(exc)}", exit_code=1)
    click.echo(
        f"verdict    ok: links verify and the chain is valid until "
        f"{_when(verified.expires_at, now)}; trust is not checked (use pact verify --trust)"
    )


def _link_checks(chain: Sequence[Delegation], i: int, now: datetime) -> list[tuple[str, str]]:
    link = chain[i]
    checks = [("signature", "" if link.verify_signature() else "DOES NOT VERIFY")]
    if i > 0:
        above = chain[i - 1]
        joined = link.from_entity.same_key(above.to_entity)
        checks.append(
            ("continuity", "" if joined else f"BROKEN: not issued by [{i - 1}]'s delegate")
        )
        wider = [
            text
            for text, cap in zip(link.capabilities, link.granted, strict=True)
            if not any(granted.covers(cap) for granted in above.granted)
        ]
        checks.append(
            (
                "narrowing",
                f"ESCALATES: [{i - 1}] does not grant {'; '.join(wider)}" if wider else "",
            )
        )
    room = len(chain) - i
    checks.append(
        ("depth", "" if room <= link.max_chain_depth else f"EXCEEDED: {room} links to the end")
    )
    if now >= link.expires:
        checks.append(("time", "EXPIRED"))
    elif link.not_before is not None and now < link.not_before:
        checks.append(("time", "NOT YET VALID"))
    else:
        checks.append(("time", ""))
    return checks


@cli.command()
@click.argument("chain_file", type=click.Path(path_type=Path))
@click.option(
    "--trust",
    "trusted",
    required=True,
    multiple=True,
    help="A trusted root: its .pub file, id (sha256:...) or public key. Repeatable.",
)
@click.option(
    "--revocations",
    "revocations_file",
    type=click.Path(path_type=Path),
    help="Revocations to honour (default: <home>/revocations.json when it exists).",
)
@click.option("--at", help="Verify at this RFC 3339 time instead of now.")
@click.pass_obj
def verify(
    home: Home,
    chain_file: Path,
    trusted: tuple[str, ...],
    revocations_file: Path | None,
    at: str | None,
) -> None:
    """Verify a chain as a provider would, against trusted roots.

    Links, time windows, revocations and the root are checked; exit code 1 when the
    chain does not verify.
    """
    chain = _load_chain(chain_file)
    roots: list[str | Entity] = []
    for value in trusted:
        candidate = Path(value)
        looks_like_file = candidate.suffix == ".pub" or os.sep in value
        roots.append(_load_entity(candidate) if looks_like_file or candidate.is_file() else value)
    try:
        policy = TrustedRoots(roots)
    except ValueError as exc:
        _fail(f"--trust: {exc}")
    if revocations_file is None and home.revocations.is_file():
        revocations_file = home.revocations
    revoked: dict[str, frozenset[str]] = {}
    if revocations_file is not None:
        revoked = _applicable(_load_revocations(revocations_file), chain)
    now = _now(at)

    try:
        verified = verify_chain(chain, trust=policy, now=now, revoked=revoked)
    except PactError as exc:
        _fail(f"{chain_file} does not verify: {_pact_detail(exc)}", exit_code=1)
    click.echo(f"ok: {chain_file} verifies")
    click.echo(f"root         {_who(verified.root)}")
    click.echo(f"agent        {_who(verified.agent)}")
    click.echo(f"capabilities {'; '.join(verified.capability_strings)}")
    click.echo(f"valid until  {_when(verified.expires_at, now)}")


def _applicable(revocations: list[Revocation], chain: Sequence[Delegation]) -> dict[str, Any]:
    # Only signed revocations by an entitled issuer count (§7); others are ignored.
    ids = {link.id for link in chain}
    valid: list[Revocation] = []
    for revocation in revocations:
        if revocation.delegation_id not in ids:
            continue
        try:
            revocation.verify_for_chain(chain)
        except RevocationError as exc:
            click.echo(
                f"note: ignoring a revocation of {revocation.delegation_id}: {exc.detail}",
                err=True,
            )
            continue
        valid.append(revocation)
    return dict(revocation_map(valid))


@cli.command()
@click.argument("delegation_id")
@click.option("--reason", default="", help="Why, for the record (optional).")
@click.option(
    "--chain",
    "chain_file",
    type=click.Path(path_type=Path),
    help="Check first that you may revoke that link of this chain.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=Path("-"),
    help="Where to write the revocation document (default: stdout).",
)
@click.option(
    "--revocations",
    "revocations_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File that records your revocations (default: <home>/revocations.json).",
)
@_key_option
@click.pass_obj
def revoke(
    home: Home,
    delegation_id: str,
    reason: str,
    chain_file: Path | None,
    out: Path,
    revocations_file: Path | None,
    key_path: Path | None,
) -> None:
    """Sign and record a revocation of a delegation.

    You may revoke a link you issued, or any link below it in the same chain.
    """
    if not _DELEGATION_ID.fullmatch(delegation_id):
        _fail(f"{delegation_id!r} is not a delegation id (d- and 32 lowercase hex digits)")
    if len(reason) > 1024 or not reason.isprintable():
        _fail("--reason must be at most 1024 printable characters")
    revoker = _load_identity(key_path or home.key)
    revocation = Revocation.issue(revoker, delegation_id, reason)
    if chain_file is not None:
        chain = _load_chain(chain_file)
        try:
            revocation.verify_for_chain(chain)
        except RevocationError as exc:
            _fail(f"you cannot revoke {delegation_id} in {chain_file}: {exc.detail}")

    record = revocations_file or home.revocations
    recorded = _load_revocations(record) if record.exists() else []
    if any(
        item.delegation_id == delegation_id and item.revoked_by == revoker.id for item in recorded
    ):
        click.echo(f"note: {record} already holds your revocation of {delegation_id}", err=True)
    else:
        documents = [item.to_dict() for item in recorded] + [revocation.to_dict()]
        _replace(record, json.dumps(documents, indent=2) + "\n")
    text = revocation.to_json(indent=2) + "\n"
    if str(out) == "-":
        click.echo(text, nl=False)
    else:
        _write(out, text, force=True)
    click.echo(f"revoked {delegation_id}; recorded in {record}", err=True)


@cli.command()
@click.argument("method")
@click.argument("url")
@click.option("--data", "-d", help="Request body, or @FILE to send a file's bytes.")
@click.option("--header", "-H", "headers", multiple=True, help="An extra header 'Name: value'.")
@click.option(
    "--chain",
    "chain_file",
    type=click.Path(path_type=Path),
    help="Chain to act under (default: <home>/chain.json).",
)
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds.")
@_key_option
@click.pass_obj
def request(
    home: Home,
    method: str,
    url: str,
    data: str | None,
    headers: tuple[str, ...],
    chain_file: Path | None,
    timeout: float,
    key_path: Path | None,
) -> None:
    """Send a signed request and print the answer.

    The status line goes to stderr, the body to stdout; exit code 1 unless 2xx.
    """
    try:
        import httpx
    except ModuleNotFoundError:
        _fail("pact request needs httpx: pip install 'pact-asgi[cli]'")
    from pact_asgi.client import PactAuth

    if not _TOKEN.fullmatch(method):
        _fail(f"{method!r} is not an HTTP method")
    if not url.startswith(("http://", "https://")):
        _fail(f"{url!r} is not an http:// or https:// URL")
    if not 0 < timeout <= 300:
        _fail("--timeout must be more than 0 and at most 300 seconds")
    extra: dict[str, str] = {}
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep or not _TOKEN.fullmatch(name.strip()):
            _fail(f"--header {header!r} is not 'Name: value'")
        if name.strip().lower() in _SIGNED_HEADERS:
            _fail(f"--header {name.strip()} is set by the signature; leave it out")
        extra[name.strip()] = value.strip()
    body = b""
    if data is not None:
        body = _read(Path(data[1:]), "body file") if data.startswith("@") else data.encode()
    identity = _load_identity(key_path or home.key)
    chain_path = chain_file or home.chain
    if chain_file is None and not chain_path.exists():
        _fail(f"no chain at {chain_path}; pass --chain or save the chain you were given there")
    chain = _load_chain(chain_path)
    if not identity.entity.same_key(chain[-1].to_entity):
        _fail(
            f"{chain_path} delegates to {chain[-1].to_entity.id}, not to this identity "
            f"({identity.id})"
        )

    try:
        with httpx.Client(auth=PactAuth(identity, chain), timeout=timeout) as client:
            response = client.request(method.upper(), url, content=body, headers=extra)
    except httpx.InvalidURL as exc:
        _fail(f"{url!r} is not a valid URL: {exc}")
    except httpx.HTTPError as exc:
        _fail(f"request to {url} failed: {type(exc).__name__}: {exc}", exit_code=1)
    click.echo(f"HTTP {response.status_code} {response.reason_phrase}", err=True)
    text = response.text
    if text:
        click.echo(text if text.endswith("\n") else text + "\n", nl=False)
    if not response.is_success:
        click.get_current_context().exit(1)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pact`` command."""
    result = cli.main(args=argv, prog_name="pact", standalone_mode=False)
    return result if isinstance(result, int) else 0
