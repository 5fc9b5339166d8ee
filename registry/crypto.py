"""Encryption at rest of resident identity: AES-GCM column types and a keyed hash.

Plain Python and SQLAlchemy, no Flask. The process has one key ring, set with
:func:`configure` (``create_app`` and the CLI do it from ``DATA_KEY`` or the key file in
the instance folder, see :func:`key_ring_from_config`; tests do it in ``conftest``).

* :class:`EncryptedText`, :class:`EncryptedDate`, :class:`EncryptedBytes` are column
  types: Python sees clear values, the database only ciphertext. Each value has its own
  random 96-bit nonce and is bound to its column (associated data ``"table.column"``),
  so a ciphertext copied into another column does not decrypt. Such columns cannot be
  searched in SQL (a comparison other than ``IS NULL`` raises); find a resident with
  :func:`resident_key` instead.
* A ciphertext names the key that made it (a 4-byte key id), so the ring can hold the
  current key plus older ones while :func:`rotate` re-encrypts everything with the
  current key (``forms-service rotate-data-key``).
* :func:`resident_key` is HMAC-SHA256 (key derived from the current data key with HKDF)
  of the normalised name and birth date: equal for the same resident however the name
  was typed, useless without the data key. It changes with the data key, so rotation
  recomputes it (tables registered with :func:`keeps_resident_key`).

A damaged or foreign ciphertext raises :class:`DecryptionError`; nothing returns garbage.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import LargeBinary, Text, event
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

MAGIC = b"FSE1"
"""The first bytes of every binary ciphertext (version 1 of the format)."""
TEXT_PREFIX = "fse1:"
"""The prefix of every text ciphertext: ``fse1:`` + urlsafe base64 of the binary form."""
KEY_ID_BYTES = 4
NONCE_BYTES = 12
KEY_FILE = "data_key"
"""The key file in the instance folder: one key per line, the first is the current one."""


class CryptoError(Exception):
    """Base class of the errors of this module."""


class KeyRingMissing(CryptoError):
    """No key ring was configured (call :func:`configure`)."""


class UnknownKeyError(CryptoError):
    """A ciphertext was made with a key that is not in the ring."""


class DecryptionError(CryptoError):
    """A value is not a valid ciphertext of this column: damaged, tampered or not encrypted."""


# ----------------------------------------------------------------------------- keys


def generate_key() -> str:
    """A new data key: urlsafe base64 of 32 random bytes (the ``DATA_KEY`` format)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def decode_key(text: str) -> bytes:
    """The 32 bytes of a ``DATA_KEY`` value, or ``ValueError`` naming what is wrong."""
    text = (text or "").strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("DATA_KEY is geen urlsafe-base64.") from None
    if len(raw) != 32:
        raise ValueError(f"DATA_KEY moet 32 bytes zijn (urlsafe-base64), niet {len(raw)}.")
    return raw


def key_id(key: bytes) -> bytes:
    """The 4-byte id a ciphertext carries to name its key (not secret, not the key)."""
    return hashlib.sha256(b"forms-service data key id\x00" + key).digest()[:KEY_ID_BYTES]


@dataclass(frozen=True)
class KeyRing:
    """The current key (encrypts) and older keys (only decrypt), by key id."""

    current: bytes
    older: tuple[bytes, ...] = ()
    _by_id: dict[bytes, bytes] = field(default_factory=dict, compare=False, repr=False)
    _aead: dict[bytes, AESGCM] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        keys = (self.current, *self.older)
        for key in keys:
            if len(key) != 32:
                raise ValueError("a data key is 32 bytes")
            kid = key_id(key)
            if kid in self._by_id and self._by_id[kid] != key:
                raise ValueError("two data keys with the same key id")
            self._by_id[kid] = key

    @property
    def current_id(self) -> str:
        """The current key's id as 8 hex digits (for messages)."""
        return key_id(self.current).hex()

    def key_for(self, kid: bytes) -> bytes:
        """The key with this id, or :class:`UnknownKeyError`."""
        try:
            return self._by_id[kid]
        except KeyError:
            raise UnknownKeyError(f"sleutel {kid.hex()} staat niet in de sleutelring "
                                  f"(huidige sleutel {self.current_id})") from None

    def aead(self, key: bytes) -> AESGCM:
        """The AES-GCM object of a key of the ring (made once per key)."""
        found = self._aead.get(key)
        if found is None:
            found = self._aead[key] = AESGCM(key)
        return found

    def index_key(self) -> bytes:
        """The HMAC key of :func:`resident_key`, derived from the current key (HKDF-SHA256)."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"forms-service resident key v1").derive(self.current)


def ring_from_texts(current: str, older: Iterable[str] = ()) -> KeyRing:
    """A ring from ``DATA_KEY``-format texts (the current one first)."""
    olds = tuple(decode_key(k) for k in older if k and k.strip())
    current_key = decode_key(current)
    return KeyRing(current_key, tuple(k for k in olds if k != current_key))


def read_key_file(path: str | os.PathLike[str]) -> list[str]:
    """The keys of a key file, current first (blank lines and ``#`` comments skipped)."""
    with open(path, encoding="ascii") as handle:
        return [line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")]


def write_key_file(path: str | os.PathLike[str], keys: Sequence[str]) -> None:
    """Replace the key file atomically (mode 600): current key first, then older keys."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("# forms-service data key: back it up; without it the encrypted data is lost.\n")
        handle.write("".join(f"{key}\n" for key in keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def key_file_path(instance_dir: str | os.PathLike[str]) -> str:
    """Where the generated key lives in an instance folder."""
    return os.path.join(os.fspath(instance_dir), KEY_FILE)


def load_or_create_key_file(instance_dir: str | os.PathLike[str]) -> list[str]:
    """The keys of the instance folder's key file, generated once (mode 600) when missing."""
    path = key_file_path(instance_dir)
    if not os.path.exists(path):  # written whole, then linked: a second process sees all or nothing
        tmp = f"{path}.new{os.getpid()}"
        write_key_file(tmp, [generate_key()])
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    keys = read_key_file(path)
    if not keys:
        raise CryptoError(f"{path} bevat geen sleutel")
    return keys


def key_ring_from_config(config: dict) -> KeyRing:
    """The ring a configuration names: ``DATA_KEY`` (+ ``DATA_KEY_PREVIOUS``), else the
    key file in ``INSTANCE_DIR`` (generated once). ``config`` is a plain dict."""
    if config.get("DATA_KEY"):
        return ring_from_texts(config["DATA_KEY"], _split(config.get("DATA_KEY_PREVIOUS")))
    keys = load_or_create_key_file(config["INSTANCE_DIR"])
    return ring_from_texts(keys[0], keys[1:])


def _split(value: str | Sequence[str] | None) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    return list(value)


_ring: KeyRing | None = None
_reload: Callable[[], KeyRing] | None = None


def configure(ring: KeyRing | None, reload: Callable[[], KeyRing] | None = None) -> None:
    """Set (or with ``None`` clear) the process's key ring.

    ``reload`` (optional) is called once when a ciphertext names an unknown key, e.g. to
    re-read the key file after ``rotate-data-key`` ran in another process.
    """
    global _ring, _reload
    _ring, _reload = ring, reload


def key_ring() -> KeyRing:
    """The configured ring; unconfigured, the ring of ``DATA_KEY`` (+ ``DATA_KEY_PREVIOUS``)
    in the environment (a script); else :class:`KeyRingMissing`."""
    if _ring is None:
        if os.environ.get("DATA_KEY"):
            configure(ring_from_texts(os.environ["DATA_KEY"], _split(os.environ.get("DATA_KEY_PREVIOUS"))))
            return _ring
        raise KeyRingMissing("Geen datasleutel ingesteld (DATA_KEY of registry.crypto.configure).")
    return _ring


def is_configured() -> bool:
    """Whether a key ring is set."""
    return _ring is not None


# ----------------------------------------------------------------------------- values


def encrypt(plain: bytes, context: str, ring: KeyRing | None = None) -> bytes:
    """``MAGIC | key id | nonce | AES-256-GCM(plain, associated data = context)``."""
    ring = ring or key_ring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    return MAGIC + key_id(ring.current) + nonce + ring.aead(ring.current).encrypt(nonce, plain, context.encode())


def ciphertext_key_id(blob: bytes) -> bytes | None:
    """The key id of a binary ciphertext, or ``None`` when ``blob`` is not one."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        return None
    blob = bytes(blob)
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES + 16:
        return None
    return blob[len(MAGIC):len(MAGIC) + KEY_ID_BYTES]


def decrypt(blob: bytes, context: str, ring: KeyRing | None = None) -> bytes:
    """The clear bytes of a ciphertext of ``context``, or :class:`DecryptionError`."""
    ring = ring or key_ring()
    blob = bytes(blob)
    kid = ciphertext_key_id(blob)
    if kid is None:
        raise DecryptionError(f"{context}: de waarde is niet versleuteld of beschadigd")
    try:
        key = ring.key_for(kid)
    except UnknownKeyError:
        if _reload is None or ring is not _ring:
            raise
        ring = _reload_ring()
        key = ring.key_for(kid)
    start = len(MAGIC) + KEY_ID_BYTES
    nonce, body = blob[start:start + NONCE_BYTES], blob[start + NONCE_BYTES:]
    try:
        return ring.aead(key).decrypt(nonce, body, context.encode())
    except InvalidTag:
        raise DecryptionError(f"{context}: versleutelde waarde is beschadigd of gewijzigd "
                              f"(controle AES-GCM mislukt)") from None


def _reload_ring() -> KeyRing:
    global _ring
    assert _reload is not None
    _ring = _reload()
    return _ring


def encrypt_text(value: str, context: str, ring: KeyRing | None = None) -> str:
    """Text ciphertext: ``fse1:`` + urlsafe base64 of :func:`encrypt`."""
    return TEXT_PREFIX + base64.urlsafe_b64encode(encrypt(value.encode("utf-8"), context, ring)).decode("ascii")


def text_blob(stored: str) -> bytes | None:
    """The binary ciphertext inside a text ciphertext, or ``None`` when it is not one."""
    if not isinstance(stored, str) or not stored.startswith(TEXT_PREFIX):
        return None
    try:
        return base64.urlsafe_b64decode(stored[len(TEXT_PREFIX):].encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def decrypt_text(stored: str, context: str, ring: KeyRing | None = None) -> str:
    """The clear text of a text ciphertext, or :class:`DecryptionError`."""
    blob = text_blob(stored)
    if blob is None:
        raise DecryptionError(f"{context}: de waarde is niet versleuteld of beschadigd")
    try:
        return decrypt(blob, context, ring).decode("utf-8")
    except UnicodeDecodeError:  # cannot happen after a passed tag, but never return garbage
        raise DecryptionError(f"{context}: ontsleutelde waarde is geen UTF-8") from None


# ----------------------------------------------------------------------------- column types


class _Encrypted(TypeDecorator):
    """Base of the encrypted column types; ``context`` is ``"table.column"``."""

    cache_ok = True
    kind = "text"  # how the stored form looks: "text" (fse1:...) or "bytes" (FSE1...)

    def __init__(self, context: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.context = context

    def to_bytes(self, value) -> bytes:  # clear Python value → bytes
        raise NotImplementedError

    def from_bytes(self, data: bytes):  # bytes → clear Python value
        raise NotImplementedError

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        data = encrypt(self.to_bytes(value), self.context)
        if self.kind == "bytes":
            return data
        return TEXT_PREFIX + base64.urlsafe_b64encode(data).decode("ascii")

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if self.kind == "bytes":
            return self.from_bytes(decrypt(value, self.context))
        blob = text_blob(value)
        if blob is None:
            raise DecryptionError(f"{self.context}: de waarde is niet versleuteld of beschadigd")
        return self.from_bytes(decrypt(blob, self.context))

    class comparator_factory(TypeDecorator.Comparator):
        """Only ``IS NULL`` / ``IS NOT NULL``: a ciphertext has a random nonce, so ``==``,
        ``LIKE`` or ``<`` would silently match nothing; refuse them instead."""

        def operate(self, op, *other, **kwargs):
            if op in (operators.is_, operators.is_not):
                return super().operate(op, *other, **kwargs)
            raise CryptoError(f"{self.type.context}: een versleutelde kolom kan niet worden vergeleken "
                              f"of doorzocht in SQL (gebruik resident_key of filter in Python)")

        def reverse_operate(self, op, other, **kwargs):
            raise CryptoError(f"{self.type.context}: een versleutelde kolom kan niet worden vergeleken in SQL")

    def process_literal_param(self, value, dialect):  # never inline a clear value into SQL
        raise CryptoError(f"{self.context}: versleutelde kolom kan niet als letterlijke SQL-waarde")


class EncryptedText(_Encrypted):
    """A text column stored as AES-GCM ciphertext (``fse1:`` + base64) in a ``TEXT`` column."""

    cache_ok = True

    impl = Text

    def to_bytes(self, value) -> bytes:
        return str(value).encode("utf-8")

    def from_bytes(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError(f"{self.context}: ontsleutelde waarde is geen UTF-8") from None

    @property
    def python_type(self):
        return str


class EncryptedDate(EncryptedText):
    """A date stored as the AES-GCM ciphertext of its ISO form in a ``TEXT`` column."""

    cache_ok = True

    def to_bytes(self, value) -> bytes:
        if isinstance(value, dt.datetime):
            value = value.date()
        if not isinstance(value, dt.date):
            value = dt.date.fromisoformat(str(value))
        return value.isoformat().encode("ascii")

    def from_bytes(self, data: bytes) -> dt.date:
        try:
            return dt.date.fromisoformat(data.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise DecryptionError(f"{self.context}: ontsleutelde waarde is geen datum") from None

    @property
    def python_type(self):
        return dt.date


class EncryptedBytes(_Encrypted):
    """A binary column (a PDF, a PNG) stored as AES-GCM ciphertext in a ``BLOB``/``bytea``."""

    cache_ok = True

    impl = LargeBinary
    kind = "bytes"

    def to_bytes(self, value) -> bytes:
        return bytes(value)

    def from_bytes(self, data: bytes) -> bytes:
        return data

    @property
    def python_type(self):
        return bytes


# ----------------------------------------------------------------------------- resident key


def normalise_name(name: str | None) -> str:
    """Casefolded, accents stripped (NFKD), whitespace collapsed: ``"  Jan  de Vriës"`` →
    ``"jan de vries"``."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def resident_key(name: str | None, birth_date: dt.date | str | None, ring: KeyRing | None = None) -> str:
    """HMAC-SHA256 (hex) of the normalised name and ISO birth date, keyed from the data key.

    The same resident gives the same key however the name was typed; without the data
    key it reveals nothing, not even whether two residents share a name.
    """
    ring = ring or key_ring()
    if isinstance(birth_date, dt.datetime):
        birth_date = birth_date.date()
    day = birth_date.isoformat() if isinstance(birth_date, dt.date) else (birth_date or "")
    message = f"{normalise_name(name)}\x1f{day}".encode("utf-8")
    return hmac.new(ring.index_key(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ResidentKeyed:
    """A table whose ``key`` column is :func:`resident_key` of its ``name`` and ``birth_date``."""

    table: str
    name: str
    birth_date: str
    key: str


RESIDENT_KEYED: dict[str, ResidentKeyed] = {}
"""Tables that carry a resident key, by table name (rotation recomputes them)."""


def keeps_resident_key(cls, name: str = "resident_name", birth_date: str = "resident_birth_date",
                       key: str = "resident_key"):
    """Class decorator for a mapped class: fill ``key`` from ``name`` + ``birth_date`` on
    every insert and update, and let :func:`rotate` recompute it with a new data key."""

    def fill(_mapper, _connection, target) -> None:
        # an erased identity (no name, no birth date) keeps no key that could find it
        clear = (getattr(target, name), getattr(target, birth_date))
        setattr(target, key, resident_key(*clear) if any(clear) else None)

    event.listen(cls, "before_insert", fill)
    event.listen(cls, "before_update", fill)
    RESIDENT_KEYED[cls.__table__.name] = ResidentKeyed(cls.__table__.name, name, birth_date, key)
    return cls


# ----------------------------------------------------------------------------- bulk: migrate, rotate


def encrypted_columns(metadata: sa.MetaData) -> dict[str, list[sa.Column]]:
    """Every column of an encrypted type, by table name."""
    found: dict[str, list[sa.Column]] = {}
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, _Encrypted)]
        if columns:
            found[table.name] = columns
    return found


def _plain_table(name: str, pk: str, columns: dict[str, type]) -> sa.TableClause:
    """A lightweight table with plain types, so values pass unprocessed."""
    return sa.table(name, sa.column(pk), *(sa.column(c, t()) for c, t in columns.items()))


def _store(kind: str, data: bytes):
    return data if kind == "bytes" else TEXT_PREFIX + base64.urlsafe_b64encode(data).decode("ascii")


def _blob(kind: str, stored) -> bytes | None:
    return bytes(stored) if kind == "bytes" and ciphertext_key_id(stored) else (text_blob(stored) if kind == "text" else None)


@dataclass
class Counts:
    """What a bulk run did, per ``table.column``."""

    encrypted: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)

    def add(self, bucket: dict[str, int], name: str, n: int = 1) -> None:
        bucket[name] = bucket.get(name, 0) + n


def _each_row(connection, table: sa.TableClause, pk: str, batch: int = 200):
    """Rows of a table in id order, a batch at a time (PDF columns can be large)."""
    last = None
    while True:
        stmt = sa.select(table).order_by(table.c[pk]).limit(batch)
        if last is not None:
            stmt = stmt.where(table.c[pk] > last)
        rows = connection.execute(stmt).mappings().all()
        if not rows:
            return
        yield from rows
        last = rows[-1][pk]


def encrypt_columns(connection, table: str, columns: dict[str, str], pk: str = "id",
                    ring: KeyRing | None = None, counts: Counts | None = None,
                    clear_ok: bool = True) -> Counts:
    """(Re-)encrypt the values of ``columns`` (``{column: "text"|"bytes"}``) of ``table``
    with the ring's current key.

    A clear value (no ciphertext prefix) is encrypted when ``clear_ok`` (the migration
    that introduces encryption), else it is an error; a ciphertext of an older key is
    decrypted and encrypted again; one of the current key stays as it is.
    """
    ring = ring or key_ring()
    counts = counts or Counts()
    current = key_id(ring.current)
    types = {name: (LargeBinary if kind == "bytes" else Text) for name, kind in columns.items()}
    plain = _plain_table(table, pk, types)
    for row in _each_row(connection, plain, pk):
        changes = {}
        for name, kind in columns.items():
            stored, context = row[name], f"{table}.{name}"
            if stored is None:
                continue
            blob = _blob(kind, stored)
            if blob is None:
                if not clear_ok:
                    raise DecryptionError(f"{context} (id {row[pk]}): de waarde is niet versleuteld")
                data = bytes(stored) if kind == "bytes" else str(stored).encode("utf-8")
            elif blob[len(MAGIC):len(MAGIC) + KEY_ID_BYTES] == current:
                decrypt(blob, context, ring)  # still check it: a rotation never hides damage
                counts.add(counts.unchanged, context)
                continue
            else:
                data = decrypt(blob, context, ring)
            changes[name] = _store(kind, encrypt(data, context, ring))
            counts.add(counts.encrypted, context)
        if changes:
            connection.execute(plain.update().where(plain.c[pk] == row[pk]).values(**changes))
    return counts


def recompute_resident_keys(connection, spec: ResidentKeyed, pk: str = "id", ring: KeyRing | None = None,
                            counts: Counts | None = None, date_kind: str = "text") -> Counts:
    """Fill ``spec.key`` from the (encrypted) name and birth date of every row."""
    ring = ring or key_ring()
    counts = counts or Counts()
    plain = _plain_table(spec.table, pk, {spec.name: Text, spec.birth_date: Text, spec.key: Text})
    for row in _each_row(connection, plain, pk):
        name = _clear_text(row[spec.name], f"{spec.table}.{spec.name}", ring)
        day = _clear_text(row[spec.birth_date], f"{spec.table}.{spec.birth_date}", ring)
        value = resident_key(name, day[:10] if day else None, ring)
        if value != row[spec.key]:
            connection.execute(plain.update().where(plain.c[pk] == row[pk]).values(**{spec.key: value}))
        counts.add(counts.keys, f"{spec.table}.{spec.key}")
    return counts


def _clear_text(stored, context: str, ring: KeyRing) -> str | None:
    """A stored text value in the clear (decrypted when it is a ciphertext)."""
    if stored is None:
        return None
    if not isinstance(stored, str):  # a date straight from a not yet converted column
        return stored.isoformat()
    blob = text_blob(stored)
    return stored if blob is None else decrypt(blob, context, ring).decode("utf-8")


def rotate(connection, metadata: sa.MetaData, ring: KeyRing) -> Counts:
    """Re-encrypt every encrypted column of ``metadata`` with ``ring.current`` and
    recompute every resident key; the caller commits, then drops the older keys."""
    counts = Counts()
    for table, columns in encrypted_columns(metadata).items():
        encrypt_columns(connection, table, {c.name: c.type.kind for c in columns}, ring=ring,
                        counts=counts, clear_ok=False)
    for spec in RESIDENT_KEYED.values():
        recompute_resident_keys(connection, spec, ring=ring, counts=counts)
    return counts


def decrypt_columns(connection, table: str, columns: dict[str, str], pk: str = "id",
                    ring: KeyRing | None = None) -> int:
    """Put the clear values back into ``columns`` of ``table`` (a downgrade); returns how many."""
    ring = ring or key_ring()
    types = {name: (LargeBinary if kind == "bytes" else Text) for name, kind in columns.items()}
    plain = _plain_table(table, pk, types)
    done = 0
    for row in _each_row(connection, plain, pk):
        changes = {}
        for name, kind in columns.items():
            blob = None if row[name] is None else _blob(kind, row[name])
            if blob is None:
                continue
            data = decrypt(blob, f"{table}.{name}", ring)
            changes[name] = data if kind == "bytes" else data.decode("utf-8")
        if changes:
            connection.execute(plain.update().where(plain.c[pk] == row[pk]).values(**changes))
            done += len(changes)
    return done
