"""Staff accounts and API tokens: argon2 password hashes, tokens stored only as hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from registry.errors import Conflict, NotFound, ValidationError
from registry.models import ApiToken, Grant, User

_hasher = PasswordHasher()


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding spaces."""
    return (email or "").strip().lower()


def create_user(session: Session, email: str, password: str, is_admin: bool = False) -> User:
    """Create a staff account with an argon2 password hash."""
    email = normalise_email(email)
    if "@" not in email:
        raise ValidationError("Ongeldig e-mailadres.", {"email": "Vul een geldig e-mailadres in."})
    if len(password or "") < 10:
        raise ValidationError("Wachtwoord te kort.", {"password": "Kies een wachtwoord van ten minste 10 tekens."})
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("Dit account bestaat al.", {"email": "Er is al een account met dit e-mailadres."})
    user = User(email=email, password_hash=_hasher.hash(password))
    if is_admin:
        user.grants.append(Grant(role="admin", created_by="create_user"))
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password."""
    if len(password or "") < 10:
        raise ValidationError("Wachtwoord te kort.", {"password": "Kies een wachtwoord van ten minste 10 tekens."})
    user.password_hash = _hasher.hash(password)
    session.flush()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with this e-mail and password, or None (same answer for both mistakes)."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        _hasher.hash(password or "")  # spend the same time as a real check
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    return user


def user_by_email(session: Session, email: str) -> User:
    """The account with this e-mail, or NotFound."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound("Geen account met dit e-mailadres.", {"email": "Onbekend account."})
    return user


def hash_token(token: str) -> str:
    """SHA-256 of an API token (tokens are random, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User) -> str:
    """Issue a new API token for a user; only its hash is stored, the token is returned once."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    session.flush()
    return token


# Every API request asks this first: one prebuilt query, token hash to user.
_USER_FOR_TOKEN = select(User).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == bindparam("token_hash"))


def user_for_token(session: Session, token: str) -> User | None:
    """The user a bearer token belongs to, or None."""
    if not token:
        return None
    return session.scalar(_USER_FOR_TOKEN, {"token_hash": hash_token(token)})


def utcnow() -> dt.datetime:
    """Naive UTC now, as stored in the database."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
