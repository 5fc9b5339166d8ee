"""Staff accounts: users with grants, invitations, passwords, TOTP, recovery codes, API tokens.

Plain Python, no Flask: every function validates, changes rows and flushes (never
commits), and raises a :mod:`registry.errors` error with Dutch messages per field.

- Passwords are argon2 hashes; an empty hash means none is set (an invitation that was
  not used yet, or an account that only logs in through OIDC).
- One-time links (``/wachtwoord/<token>``), recovery codes and API tokens are random and
  stored only as SHA-256.
- TOTP (RFC 6238, 30-second steps) with one step of clock drift either way; a code is
  accepted once: the step it belongs to is remembered in ``totp_last_step``.
- ``session_epoch`` goes up on logout, password change, disabling and a TOTP reset; a
  session cookie carrying an older epoch is no longer accepted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from registry.errors import Conflict, NotFound, ValidationError
from registry.models import (
    ROLES,
    AccountLink,
    ApiToken,
    CaseTable,
    Covenant,
    Grant,
    Organisation,
    Person,
    RecoveryCode,
    User,
)
from registry.texts import N_, _

_hasher = PasswordHasher()

MIN_PASSWORD = 10
LINK_DAYS = 7
TOKEN_DAYS = 90
TOKEN_MAX_DAYS = 365
TOKEN_TOUCH_SECONDS = 60
RECOVERY_CODES = 10
TOTP_ISSUER = "Convenantbeheer casustafels"

# Roles whose holders can read resident data or logs: they need a second factor.
MFA_ROLES = frozenset({"admin", "coordinator", "chair", "privacy_officer"})

ROLE_LABELS = {
    "admin": N_("Beheerder"),
    "coordinator": N_("Coördinator"),
    "chair": N_("Voorzitter"),
    "partner_contact": N_("Contactpersoon partner"),
    "privacy_officer": N_("Privacyfunctionaris"),
}


def utcnow() -> dt.datetime:
    """Naive UTC now, as stored in the database."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def today() -> dt.date:
    """Today in Europe/Amsterdam (token expiry dates are Dutch calendar dates)."""
    from registry.rules import today as registry_today

    return registry_today()


def sha256(value: str) -> str:
    """Hex SHA-256 of a random secret (no salt or slow hash needed for random values)."""
    return hashlib.sha256(value.encode()).hexdigest()


hash_token = sha256


def normalise_email(email: str | None) -> str:
    """E-mail addresses compare case-insensitively and without surrounding spaces."""
    return (email or "").strip().lower()


def _check_email(email: str) -> str:
    email = normalise_email(email)
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise ValidationError(_("Ongeldig e-mailadres."), {"email": _("Vul een geldig e-mailadres in.")})
    return email


def _check_password(password: str | None) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(_("Wachtwoord te kort."), {"password": _('Kies een wachtwoord van ten minste %(MIN_PASSWORD)s tekens.', MIN_PASSWORD=MIN_PASSWORD)})
    if len(password) > 1000:
        raise ValidationError(_("Wachtwoord te lang."), {"password": _("Kies een wachtwoord van hoogstens 1000 tekens.")})
    return password


def _email_taken(session: Session, email: str, except_id: int | None = None) -> bool:
    query = select(User.id).where(User.email == email)
    if except_id is not None:
        query = query.where(User.id != except_id)
    return session.scalar(query) is not None


# ----------------------------------------------------------------------------- grants


@dataclass(frozen=True)
class GrantSpec:
    """A grant as asked for (role + scope), before validation."""

    role: str
    covenant_id: int | None = None
    table_id: int | None = None
    organisation_id: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping) -> GrantSpec:
        """From a JSON object or form row; ids stay as given (validated later)."""
        return cls(role=data.get("role"), covenant_id=data.get("covenant_id"), table_id=data.get("table_id"),
                   organisation_id=data.get("organisation_id"))


SCOPE_FIELDS = ("covenant_id", "table_id", "organisation_id")
_SCOPE_MODELS = {"covenant_id": (Covenant, N_("Dit convenant bestaat niet.")),
                 "table_id": (CaseTable, N_("Deze casustafel bestaat niet.")),
                 "organisation_id": (Organisation, N_("Deze organisatie bestaat niet."))}
# The scope each role needs: a set of allowed field combinations (exactly one of them).
_ROLE_SCOPES = {
    "admin": [()],
    "coordinator": [("covenant_id",), ("table_id",)],
    "chair": [("table_id",)],
    "partner_contact": [("organisation_id",)],
    "privacy_officer": [("covenant_id",)],
}
_SCOPE_HELP = {
    "admin": N_("Een beheerder heeft geen bereik: laat convenant, casustafel en organisatie leeg."),
    "coordinator": N_("Een coördinator hoort bij precies één convenant of één casustafel."),
    "chair": N_("Een voorzitter hoort bij één casustafel."),
    "partner_contact": N_("Een contactpersoon hoort bij één organisatie."),
    "privacy_officer": N_("Een privacyfunctionaris hoort bij één convenant."),
}


def validate_grant(session: Session, spec: GrantSpec) -> GrantSpec:
    """The grant with checked role, scope and existing referenced records.

    Bad role or scope: ValidationError (422) naming ``role`` or the scope field;
    a scope id that does not exist: NotFound (404) naming its field.
    """
    if spec.role not in ROLES:
        raise ValidationError(_("Onbekende rol."), {"role": _('Kies een van: %(value)s.', value=', '.join(ROLES))})
    values = {}
    for name in SCOPE_FIELDS:
        value = getattr(spec, name)
        if value in (None, ""):
            continue
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            raise ValidationError(_("Ongeldig bereik."), {name: _("Moet een positief geheel getal zijn.")})
        values[name] = value
    given = tuple(name for name in SCOPE_FIELDS if name in values)
    allowed = _ROLE_SCOPES[spec.role]
    if given not in allowed:
        # Name the field that is wrong: a field given that this role cannot have, else the missing one.
        permitted = {name for combo in allowed for name in combo}
        extra = [name for name in given if name not in permitted]
        field = extra[0] if extra else (given[-1] if given else (allowed[0][0] if allowed[0] else "role"))
        raise ValidationError(_("Rol en bereik passen niet bij elkaar."), {field: _(_SCOPE_HELP[spec.role])})
    for name, value in values.items():
        model, message = _SCOPE_MODELS[name]
        if session.get(model, value) is None:
            raise NotFound(_(message), {name: _(message)})
    return GrantSpec(spec.role, values.get("covenant_id"), values.get("table_id"), values.get("organisation_id"))


def _grants(session: Session, specs: Iterable[GrantSpec | Mapping], created_by: str | None) -> list[Grant]:
    grants, seen = [], set()
    for spec in specs:
        if not isinstance(spec, GrantSpec):
            if not isinstance(spec, Mapping):
                raise ValidationError(_("Ongeldige autorisatie."), {"grants": _("Elke autorisatie is een object met een rol.")})
            spec = GrantSpec.from_mapping(spec)
        spec = validate_grant(session, spec)
        if spec in seen:
            continue
        seen.add(spec)
        grants.append(Grant(role=spec.role, covenant_id=spec.covenant_id, table_id=spec.table_id,
                            organisation_id=spec.organisation_id, created_by=created_by))
    return grants


def _check_person(session: Session, person_id) -> int | None:
    if person_id in (None, ""):
        return None
    if isinstance(person_id, str) and person_id.strip().isdigit():
        person_id = int(person_id)
    if isinstance(person_id, bool) or not isinstance(person_id, int) or not 0 < person_id < 2**63:
        raise ValidationError(_("Ongeldige persoon."), {"person_id": _("Moet een positief geheel getal zijn.")})
    if session.get(Person, person_id) is None:
        raise NotFound(_("Deze persoon bestaat niet."), {"person_id": _("Deze persoon bestaat niet.")})
    return person_id


def _active_admins(session: Session) -> set[int]:
    return set(session.scalars(
        select(User.id).join(Grant, Grant.user_id == User.id).where(Grant.role == "admin", User.disabled_at.is_(None))))


def set_grants(session: Session, user: User, specs: Iterable[GrantSpec | Mapping], *, created_by: str | None) -> User:
    """Replace a user's grants (validated first: nothing changes when one is wrong).

    The last active administrator cannot lose the admin grant (409).
    """
    new = _grants(session, specs, created_by)
    if user.is_admin and not any(g.role == "admin" for g in new) and _active_admins(session) <= {user.id}:
        raise Conflict(_("Er moet een actieve beheerder overblijven."), {"grants": _("Dit is de laatste actieve beheerder.")})
    keep = {(g.role, g.covenant_id, g.table_id, g.organisation_id): g for g in user.grants}
    result = []
    for grant in new:
        key = (grant.role, grant.covenant_id, grant.table_id, grant.organisation_id)
        result.append(keep.get(key) or grant)
    user.grants[:] = result
    session.flush()
    return user


def requires_mfa(user: User) -> bool:
    """True when any grant lets the user read resident data or logs (admin, coordinator, chair, privacy officer)."""
    return any(grant.role in MFA_ROLES for grant in user.grants)


# ----------------------------------------------------------------------------- users


def create_user(session: Session, email: str, password: str, is_admin: bool = False, *, name: str = "",
                person_id: int | None = None, grants: Iterable[GrantSpec | Mapping] = (),
                created_by: str | None = "create_user") -> User:
    """Create a staff account with an argon2 password hash (``is_admin`` adds an admin grant)."""
    email = _check_email(email)
    _check_password(password)
    user = _new_user(session, email, name, person_id, [*grants, *([GrantSpec("admin")] if is_admin else [])], created_by)
    user.password_hash = _hasher.hash(password)
    session.flush()
    return user


def _new_user(session: Session, email: str, name: str, person_id, grants, created_by) -> User:
    if _email_taken(session, email):
        raise Conflict(_("Dit account bestaat al."), {"email": _("Er is al een account met dit e-mailadres.")})
    name = (name or "").strip()
    if len(name) > 200:
        raise ValidationError(_("Naam te lang."), {"name": _("Hoogstens 200 tekens.")})
    user = User(email=email, name=name, password_hash="", person_id=_check_person(session, person_id), session_epoch=0)
    user.grants.extend(_grants(session, grants, created_by))
    session.add(user)
    session.flush()
    return user


@dataclass
class Invitation:
    """A new account and the one-time set-password token (only its hash is stored)."""

    user: User
    token: str
    expires_at: dt.datetime


def invite_user(session: Session, *, email: str, name: str, person_id: int | None = None,
                grants: Iterable[GrantSpec | Mapping] = (), created_by: str | None,
                days: int = LINK_DAYS, now: dt.datetime | None = None) -> Invitation:
    """Create an account without a password plus a set-password link (the caller mails it)."""
    email = _check_email(email)
    if not (name or "").strip():
        raise ValidationError(_("Naam ontbreekt."), {"name": _("Vul de naam in.")})
    user = _new_user(session, email, name, person_id, list(grants), created_by)
    token, link = create_link(session, user, days=days, now=now)
    return Invitation(user, token, link.expires_at)


def update_user(session: Session, user: User, *, name: str | None = None, person_id=...) -> User:
    """Change a user's name and/or linked person (``person_id=None`` unlinks)."""
    if name is not None:
        if not name.strip():
            raise ValidationError(_("Naam ontbreekt."), {"name": _("Vul de naam in.")})
        user.name = name.strip()[:200]
    if person_id is not ...:
        user.person_id = _check_person(session, person_id)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("Dit account bestaat niet."), {"user_id": _("Onbekend account.")})
    return user


def user_by_email(session: Session, email: str) -> User:
    """The account with this e-mail, or NotFound."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(_("Geen account met dit e-mailadres."), {"email": _("Onbekend account.")})
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by e-mail, with grants and person loaded."""
    return list(session.scalars(select(User).options(selectinload(User.grants), selectinload(User.person))
                                .order_by(User.email)))


def disable_user(session: Session, user: User, now: dt.datetime | None = None) -> User:
    """Disable an account: its sessions end at their next request, its API tokens stop working."""
    if user.disabled_at is not None:
        return user
    if user.is_admin and _active_admins(session) <= {user.id}:
        raise Conflict(_("Er moet een actieve beheerder overblijven."), {"user_id": _("Dit is de laatste actieve beheerder.")})
    user.disabled_at = now or utcnow()
    user.session_epoch = (user.session_epoch or 0) + 1
    session.flush()
    return user


def enable_user(session: Session, user: User) -> User:
    """Enable a disabled account again."""
    user.disabled_at = None
    session.flush()
    return user


def end_sessions(session: Session, user: User) -> int:
    """End every session of the user (logout everywhere); returns the new epoch."""
    user.session_epoch = (user.session_epoch or 0) + 1
    session.flush()
    return user.session_epoch


# ----------------------------------------------------------------------------- passwords


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password; every existing session of the user ends."""
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    end_sessions(session, user)


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Change one's own password after checking the current one."""
    if not verify_password(user, current):
        raise ValidationError(_("Huidig wachtwoord klopt niet."), {"current_password": _("Het huidige wachtwoord klopt niet.")})
    set_password(session, user, new)


def verify_password(user: User, password: str | None) -> bool:
    """True when the password matches the user's hash (False without a password set)."""
    if not user.password_hash:
        _hasher.hash(password or "")
        return False
    try:
        return _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same answer for every mistake)."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        _hasher.hash(password or "")  # spend the same time as a real check
        return None
    if not verify_password(user, password) or not user.is_active:
        return None
    return user


# ----------------------------------------------------------------------------- one-time links


def create_link(session: Session, user: User, *, purpose: str = "set_password", days: int = LINK_DAYS,
                now: dt.datetime | None = None) -> tuple[str, AccountLink]:
    """A new one-time link token for the user; earlier unused links of that purpose stop working."""
    now = now or utcnow()
    session.execute(update(AccountLink).where(AccountLink.user_id == user.id, AccountLink.purpose == purpose,
                                              AccountLink.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    link = AccountLink(user_id=user.id, purpose=purpose, token_hash=sha256(token), expires_at=now + dt.timedelta(days=days),
                       created_at=now)
    session.add(link)
    session.flush()
    return token, link


def link_for_token(session: Session, token: str, *, purpose: str = "set_password",
                   now: dt.datetime | None = None) -> AccountLink:
    """The valid link behind a token: NotFound (unknown), Conflict (used, expired, account disabled)."""
    link = session.scalar(select(AccountLink).where(AccountLink.token_hash == sha256(token or ""),
                                                    AccountLink.purpose == purpose))
    if link is None:
        raise NotFound(_("Deze link is ongeldig."), {"token": _("Onbekende link.")}, code="link_unknown")
    if link.used_at is not None:
        raise Conflict(_("Deze link is al gebruikt of vervangen door een nieuwere."), {"token": _("Al gebruikt.")}, code="link_used")
    if link.expires_at <= (now or utcnow()):
        raise Conflict(_("Deze link is verlopen. Vraag de beheerder om een nieuwe."), {"token": _("Verlopen.")}, code="link_expired")
    if not link.user.is_active:
        raise Conflict(_("Dit account is uitgeschakeld."), {"token": _("Account uitgeschakeld.")}, code="account_disabled")
    return link


def use_password_link(session: Session, token: str, password: str, now: dt.datetime | None = None) -> User:
    """Set the password through a one-time link; the link is used up."""
    link = link_for_token(session, token, now=now)
    set_password(session, link.user, password)
    link.used_at = now or utcnow()
    session.flush()
    return link.user


# ----------------------------------------------------------------------------- TOTP and recovery codes


def new_totp_secret() -> str:
    """A fresh random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def pending_totp_secret(session: Session, user: User) -> str:
    """The secret being enrolled: kept on the account until confirmed (made when missing)."""
    if user.totp_enabled_at is not None:
        raise Conflict(_("Tweestapsverificatie is al ingesteld."), {"code": _("Al ingesteld.")})
    if not user.totp_secret:
        user.totp_secret = new_totp_secret()
        session.flush()
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _clean_code(code: str | None) -> str:
    return "".join(c for c in (code or "") if c.isalnum()).lower()


def _totp_step(secret: str, code: str, now: float) -> int | None:
    """The 30-second step (±1) whose TOTP equals ``code``, or None."""
    code = _clean_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(dt.datetime.fromtimestamp(now, dt.timezone.utc))
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _accept_totp(session: Session, user: User, secret: str, code: str, now: float | None) -> bool:
    """Check a TOTP code and remember its step, so the same code is not accepted twice.

    The remembered step is raised with a conditional UPDATE, so two servers seeing the
    same code at once cannot both accept it.
    """
    step = _totp_step(secret, code, time.time() if now is None else now)
    if step is None:
        return False
    result = session.execute(
        update(User).where(User.id == user.id)
        .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


def enable_totp(session: Session, user: User, code: str, *, now: float | None = None) -> list[str]:
    """Confirm enrolment with a first code; returns the new recovery codes (shown once)."""
    secret = pending_totp_secret(session, user)
    if not _accept_totp(session, user, secret, code, now):
        raise ValidationError(_("Code klopt niet."), {"code": _("Deze code klopt niet. Kijk of de tijd op uw telefoon goed staat.")})
    user.totp_enabled_at = utcnow()
    codes = new_recovery_codes(session, user)
    session.flush()
    return codes


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with ten fresh ones (returned once, stored as SHA-256)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits, ten hex characters
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=sha256(raw)))
    session.flush()
    return codes


def remaining_recovery_codes(session: Session, user: User) -> int:
    """How many unused recovery codes the user has."""
    return len(session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                             RecoveryCode.used_at.is_(None))).all())


def verify_second_factor(session: Session, user: User, code: str, *, now: float | None = None) -> str | None:
    """``"totp"`` or ``"recovery"`` when the code is good (a recovery code is used up), else None."""
    if user.totp_enabled_at is None or not user.totp_secret:
        return None
    if _accept_totp(session, user, user.totp_secret, code, now):
        session.flush()
        return "totp"
    cleaned = _clean_code(code)
    if len(cleaned) == 10:
        result = session.execute(
            update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == sha256(cleaned),
                                       RecoveryCode.used_at.is_(None)).values(used_at=utcnow())
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            return "recovery"
    return None


def reset_totp(session: Session, user: User) -> None:
    """Remove the second factor (lost phone): the next login enrols again. Sessions end."""
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    end_sessions(session, user)


# ----------------------------------------------------------------------------- API tokens


@dataclass
class IssuedToken:
    """A new API token: the row and the secret (returned once, stored as SHA-256)."""

    row: ApiToken
    token: str


def check_expiry(expires_on, *, on: dt.date | None = None) -> dt.date:
    """A token's last valid day: default today + 90, not in the past, at most today + 365."""
    on = on or today()
    if expires_on in (None, ""):
        return on + dt.timedelta(days=TOKEN_DAYS)
    if isinstance(expires_on, str):
        try:
            expires_on = dt.date.fromisoformat(expires_on) if len(expires_on) == 10 else None
        except ValueError:
            expires_on = None
    if not isinstance(expires_on, dt.date) or isinstance(expires_on, dt.datetime):
        raise ValidationError(_("Ongeldige datum."), {"expires_on": _("Gebruik JJJJ-MM-DD.")})
    if expires_on < on:
        raise ValidationError(_("Vervaldatum ligt in het verleden."), {"expires_on": _("Kies vandaag of een latere datum.")})
    if expires_on > on + dt.timedelta(days=TOKEN_MAX_DAYS):
        raise ValidationError(_("Vervaldatum te ver weg."), {"expires_on": _('Hoogstens %(TOKEN_MAX_DAYS)s dagen vanaf vandaag.', TOKEN_MAX_DAYS=TOKEN_MAX_DAYS)})
    return expires_on


def issue_token(session: Session, user: User, expires_on=None, *, on: dt.date | None = None) -> IssuedToken:
    """Issue a new API token for an active user (expiry checked by :func:`check_expiry`)."""
    expires = check_expiry(expires_on, on=on)
    if not user.is_active:
        raise Conflict(_("Dit account is uitgeschakeld."), {"user_id": _("Account uitgeschakeld.")})
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=sha256(token), expires_on=expires, created_at=utcnow())
    session.add(row)
    session.flush()
    return IssuedToken(row, token)


def create_token(session: Session, user: User, expires_on=None) -> str:
    """Issue a new API token and return only the secret (default expiry: 90 days)."""
    return issue_token(session, user, expires_on).token


def get_token(session: Session, token_id: int) -> ApiToken:
    """The token row with this id, or NotFound."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(_("Dit token bestaat niet."), {"token_id": _("Onbekend token.")})
    return row


def revoke_token(session: Session, row: ApiToken, now: dt.datetime | None = None) -> ApiToken:
    """Revoke a token; it is refused from then on (revoking twice changes nothing)."""
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
    return row


# Every API request asks this first: one prebuilt query, token hash to (user, token id, last use).
_TOKEN_LOOKUP = (
    select(User, ApiToken.id, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None),
           ApiToken.expires_on >= bindparam("today"), User.disabled_at.is_(None))
    .options(joinedload(User.grants))  # every API request asks what the account may: one query, not two
)


@dataclass
class TokenUse:
    """Who a valid bearer token belongs to, and whether its ``last_used_at`` is due an update."""

    user: User
    token_id: int
    touch: bool


def token_use(session: Session, token: str, *, now: dt.datetime | None = None) -> TokenUse | None:
    """The valid token's user, or None (unknown, revoked, expired, or the user is disabled).

    ``touch`` says the caller should record the use (at most once a minute per token).
    """
    if not token or len(token) > 200:
        return None
    rows = session.execute(_TOKEN_LOOKUP, {"token_hash": sha256(token), "today": today()}).unique().all()
    if not rows:  # (all rows, not .first(): the joined grants arrive one per row)
        return None
    row = rows[0]
    user, token_id, last_used = row
    now = now or utcnow()
    return TokenUse(user, token_id, last_used is None or (now - last_used).total_seconds() >= TOKEN_TOUCH_SECONDS)


def user_for_token(session: Session, token: str) -> User | None:
    """The user a valid bearer token belongs to, or None."""
    use = token_use(session, token)
    return use.user if use else None


def touch_token(session: Session, token_id: int, now: dt.datetime | None = None) -> None:
    """Record a token's use (only when the last recorded use is a minute old or more)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=TOKEN_TOUCH_SECONDS)
    session.execute(update(ApiToken).where(ApiToken.id == token_id)
                    .where((ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at <= cutoff))
                    .values(last_used_at=now).execution_options(synchronize_session=False))
    session.flush()


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """A user's tokens, newest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def select_user_by_email(email: str):
    """The query for the account with this e-mail (compared normalised)."""
    return select(User).where(User.email == normalise_email(email))
