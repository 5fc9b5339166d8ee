"""Signing-link tokens.

A signer receives a link with a random token; whoever holds the link may sign for
that one request, so the token is a bearer secret. Therefore:

* it carries 256 bits from :mod:`secrets` (the minimum we accept is 128 bits), in
  url-safe base64 so it survives mail clients and copy-paste;
* only its SHA-256 hash is stored (``SigningRequest.token_hash``): a leaked database
  dump or backup does not contain working links. A fast hash is enough because the
  input has 256 bits of entropy; there is nothing to brute-force;
* comparisons of secrets use :func:`hmac.compare_digest`; lookups go by the hash,
  so the database index never sees the token itself;
* a link expires (default 14 days; configurable per request).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta, timezone

TOKEN_BYTES = 32
"""Random bytes per token (256 bits)."""

DEFAULT_VALID_DAYS = 14
"""How long a signing link stays usable unless configured otherwise."""

# token_urlsafe(32) gives 43 characters; accept a little slack for other lengths
# but never unbounded input (a token is hashed, and arrives in a URL).
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,128}$")


def new_token() -> tuple[str, str]:
    """Return a fresh ``(token, token_hash)``; send the token, store the hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of ``token``, the only form that is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_well_formed(token: object) -> bool:
    """True when ``token`` looks like one of ours (cheap check before any lookup)."""
    return isinstance(token, str) and bool(_TOKEN_RE.fullmatch(token))


def token_matches(token: str, stored_hash: str) -> bool:
    """Compare ``token`` with a stored hash in constant time."""
    if not is_well_formed(token) or not isinstance(stored_hash, str):
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (one place so tests can pass ``now``)."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` as aware UTC; a naive value is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def expiry(now: datetime | None = None, days: int = DEFAULT_VALID_DAYS) -> datetime:
    """Return the moment a link created at ``now`` stops working."""
    if days <= 0:
        raise ValueError("a signing link must be valid for at least one day")
    return as_utc(now or utcnow()) + timedelta(days=days)


def is_expired(expires_at: datetime, now: datetime | None = None) -> bool:
    """True when ``now`` is at or after ``expires_at`` (the end is exclusive)."""
    return as_utc(now or utcnow()) >= as_utc(expires_at)
