"""registry.accounts without Flask: grants per role and scope, invitations and links, TOTP
and recovery codes, API token expiry/revocation, session epochs. Both backends."""

from __future__ import annotations

import datetime as dt
import time

import pyotp
import pytest
from sqlalchemy import select

from registry import accounts
from registry.errors import Conflict, NotFound, ValidationError
from registry.models import AccountLink, ApiToken, RecoveryCode
from tests import factories


@pytest.fixture
def world(session):
    org = factories.organisation(session)
    cov = factories.covenant(session, [(org, dt.date(2025, 5, 1))])
    table = factories.table(session, cov)
    person = factories.person(session, org)
    session.commit()
    return {"org": org, "covenant": cov, "table": table, "person": person}


def field_of(excinfo) -> str:
    return next(iter(excinfo.value.fields))


@pytest.mark.parametrize(("grant", "error", "field"), [
    ({"role": "superuser"}, ValidationError, "role"),
    ({"role": "chair"}, ValidationError, "table_id"),
    ({"role": "chair", "covenant_id": "C"}, ValidationError, "covenant_id"),
    ({"role": "coordinator"}, ValidationError, "covenant_id"),
    ({"role": "coordinator", "covenant_id": "C", "table_id": "T"}, ValidationError, "table_id"),
    ({"role": "admin", "table_id": "T"}, ValidationError, "table_id"),
    ({"role": "partner_contact", "table_id": "T"}, ValidationError, "table_id"),
    ({"role": "privacy_officer", "table_id": "T"}, ValidationError, "table_id"),
    ({"role": "chair", "table_id": 99999}, NotFound, "table_id"),
    ({"role": "privacy_officer", "covenant_id": 99999}, NotFound, "covenant_id"),
    ({"role": "partner_contact", "organisation_id": 99999}, NotFound, "organisation_id"),
    ({"role": "chair", "table_id": "abc"}, ValidationError, "table_id"),
])
def test_grants_are_validated_per_role_and_scope(session, world, grant, error, field):
    ids = {"C": world["covenant"].id, "T": world["table"].id}
    grant = {k: ids.get(v, v) for k, v in grant.items()}
    with pytest.raises(error) as excinfo:
        accounts.create_user(session, "x@example.org", "een lang wachtwoord", grants=[grant])
    assert field_of(excinfo) == field and excinfo.value.message


def test_good_grants_and_who_needs_mfa(session, world):
    chair = accounts.create_user(session, "c@example.org", "een lang wachtwoord", grants=[
        {"role": "chair", "table_id": world["table"].id}], person_id=world["person"].id)
    contact = accounts.create_user(session, "p@example.org", "een lang wachtwoord", grants=[
        {"role": "partner_contact", "organisation_id": world["org"].id}])
    coordinator = accounts.create_user(session, "k@example.org", "een lang wachtwoord", grants=[
        {"role": "coordinator", "covenant_id": world["covenant"].id}])
    officer = accounts.create_user(session, "f@example.org", "een lang wachtwoord", grants=[
        {"role": "privacy_officer", "covenant_id": world["covenant"].id}])
    admin = accounts.create_user(session, "a@example.org", "een lang wachtwoord", is_admin=True)
    assert chair.grants[0].scope == f"table:{world['table'].id}" and chair.person_id == world["person"].id
    assert [accounts.requires_mfa(u) for u in (chair, contact, coordinator, officer, admin)] == [True, False, True, True, True]
    with pytest.raises(NotFound) as excinfo:
        accounts.create_user(session, "z@example.org", "een lang wachtwoord", person_id=99999)
    assert field_of(excinfo) == "person_id"
    with pytest.raises(Conflict):
        accounts.create_user(session, "C@Example.org ", "een lang wachtwoord")


def test_set_grants_replaces_and_keeps_the_last_admin(session, world):
    admin = accounts.create_user(session, "a@example.org", "een lang wachtwoord", is_admin=True)
    with pytest.raises(Conflict):
        accounts.set_grants(session, admin, [{"role": "chair", "table_id": world["table"].id}], created_by="t")
    with pytest.raises(Conflict):
        accounts.disable_user(session, admin)
    other = accounts.create_user(session, "b@example.org", "een lang wachtwoord", is_admin=True)
    accounts.set_grants(session, admin, [{"role": "chair", "table_id": world["table"].id}], created_by="t")
    assert [g.role for g in admin.grants] == ["chair"] and not admin.is_admin
    epoch = other.session_epoch
    accounts.set_grants(session, admin, [{"role": "admin"}], created_by="t")
    accounts.disable_user(session, other)
    assert other.disabled_at is not None and other.session_epoch == epoch + 1
    assert accounts.authenticate(session, "b@example.org", "een lang wachtwoord") is None
    accounts.enable_user(session, other)
    assert accounts.authenticate(session, "b@example.org", "een lang wachtwoord") is other


def test_invitation_link_sets_the_password_once(session, world):
    invitation = accounts.invite_user(session, email="New@Example.org", name="Nieuw", grants=[{"role": "admin"}],
                                      created_by="tester")
    session.commit()
    user = invitation.user
    assert user.email == "new@example.org" and user.password_hash == ""
    assert accounts.authenticate(session, user.email, "") is None
    stored = session.scalar(select(AccountLink.token_hash).where(AccountLink.user_id == user.id))
    assert stored == accounts.sha256(invitation.token) and invitation.token not in stored
    assert invitation.expires_at - accounts.utcnow() > dt.timedelta(days=6, hours=23)
    with pytest.raises(ValidationError):
        accounts.use_password_link(session, invitation.token, "kort")
    accounts.use_password_link(session, invitation.token, "mijn nieuwe wachtwoord")
    assert accounts.authenticate(session, user.email, "mijn nieuwe wachtwoord") is user
    with pytest.raises(Conflict) as used:
        accounts.use_password_link(session, invitation.token, "nog een wachtwoord")
    assert used.value.code == "link_used"
    with pytest.raises(NotFound):
        accounts.link_for_token(session, "verzonnen")
    token, _link = accounts.create_link(session, user, now=accounts.utcnow() - dt.timedelta(days=8))
    with pytest.raises(Conflict) as expired:
        accounts.link_for_token(session, token)
    assert expired.value.code == "link_expired"


def test_a_new_link_replaces_the_old_one(session):
    invitation = accounts.invite_user(session, email="n@example.org", name="N", created_by="t")
    newer, _ = accounts.create_link(session, invitation.user)
    with pytest.raises(Conflict):
        accounts.link_for_token(session, invitation.token)
    assert accounts.link_for_token(session, newer).user is invitation.user


def test_totp_enrolment_codes_once_and_recovery_codes(session):
    user = accounts.create_user(session, "a@example.org", "een lang wachtwoord", is_admin=True)
    secret = accounts.pending_totp_secret(session, user)
    assert accounts.pending_totp_secret(session, user) == secret  # revisiting the page keeps the secret
    assert accounts.provisioning_uri(user, secret).startswith("otpauth://totp/")
    totp, now = pyotp.TOTP(secret), time.time()
    with pytest.raises(ValidationError) as bad:
        accounts.enable_totp(session, user, "000000" if totp.at(now) != "000000" else "111111", now=now)
    assert field_of(bad) == "code"
    codes = accounts.enable_totp(session, user, totp.at(now), now=now)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(row) == 64 for row in session.scalars(select(RecoveryCode.code_hash)))
    # The code that confirmed the enrolment does not work again, nor does an older one.
    assert accounts.verify_second_factor(session, user, totp.at(now), now=now) is None
    assert accounts.verify_second_factor(session, user, totp.at(now - 30), now=now) is None
    # One step ahead (clock drift) is accepted, once.
    assert accounts.verify_second_factor(session, user, totp.at(now + 30), now=now) == "totp"
    assert accounts.verify_second_factor(session, user, totp.at(now + 30), now=now) is None
    assert accounts.verify_second_factor(session, user, totp.at(now + 90), now=now) is None  # too far
    assert accounts.verify_second_factor(session, user, codes[0].upper(), now=now) == "recovery"
    assert accounts.verify_second_factor(session, user, codes[0], now=now) is None
    assert accounts.remaining_recovery_codes(session, user) == 9
    accounts.reset_totp(session, user)
    assert user.totp_enabled_at is None and accounts.remaining_recovery_codes(session, user) == 0


def test_password_change_and_logout_raise_the_session_epoch(session):
    user = accounts.create_user(session, "a@example.org", "een lang wachtwoord")
    start = user.session_epoch
    accounts.end_sessions(session, user)
    accounts.set_password(session, user, "een ander wachtwoord")
    assert user.session_epoch == start + 2
    with pytest.raises(ValidationError) as wrong:
        accounts.change_password(session, user, "fout", "nog een wachtwoord")
    assert field_of(wrong) == "current_password"


def test_token_expiry_rules(session):
    user = accounts.create_user(session, "a@example.org", "een lang wachtwoord")
    today = accounts.today()
    issued = accounts.issue_token(session, user)
    assert issued.row.expires_on == today + dt.timedelta(days=90)
    assert accounts.issue_token(session, user, (today + dt.timedelta(days=365)).isoformat()).row.expires_on
    assert accounts.issue_token(session, user, today).row.expires_on == today
    for bad in (today + dt.timedelta(days=366), today - dt.timedelta(days=1), "morgen", "2026-13-01", 5):
        with pytest.raises(ValidationError) as excinfo:
            accounts.issue_token(session, user, bad)
        assert field_of(excinfo) == "expires_on"


def test_user_for_token_refuses_expired_revoked_and_disabled(session):
    accounts.create_user(session, "boss@example.org", "een lang wachtwoord", is_admin=True)
    user = accounts.create_user(session, "a@example.org", "een lang wachtwoord")
    good, expired, revoked = (accounts.issue_token(session, user) for _ in range(3))
    session.get(ApiToken, expired.row.id).expires_on = accounts.today() - dt.timedelta(days=1)
    accounts.revoke_token(session, revoked.row)
    session.commit()
    assert accounts.user_for_token(session, good.token) is user
    assert accounts.user_for_token(session, expired.token) is None
    assert accounts.user_for_token(session, revoked.token) is None
    assert accounts.user_for_token(session, "") is None and accounts.user_for_token(session, "x" * 500) is None
    accounts.disable_user(session, user)
    session.commit()
    assert accounts.user_for_token(session, good.token) is None


def test_token_use_is_recorded_at_most_once_a_minute(session):
    user = accounts.create_user(session, "a@example.org", "een lang wachtwoord")
    issued = accounts.issue_token(session, user)
    session.commit()
    use = accounts.token_use(session, issued.token)
    assert use.touch
    first = accounts.utcnow()
    accounts.touch_token(session, use.token_id, now=first)
    session.commit()
    session.expire_all()
    assert session.get(ApiToken, use.token_id).last_used_at == first
    assert not accounts.token_use(session, issued.token, now=first + dt.timedelta(seconds=30)).touch
    accounts.touch_token(session, use.token_id, now=first + dt.timedelta(seconds=30))  # too soon: unchanged
    session.commit()
    session.expire_all()
    assert session.get(ApiToken, use.token_id).last_used_at == first
    assert accounts.token_use(session, issued.token, now=first + dt.timedelta(seconds=61)).touch
