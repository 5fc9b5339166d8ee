"""API v1 for accounts: POST /api/v1/users (invitation mail), tokens issued, expired, revoked."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from registry import accounts
from registry.models import ApiToken
from signatures.models import OutboxMessage
from tests import factories
from tests.conftest import Api


@pytest.fixture
def scope(app_session):
    org = factories.organisation(app_session)
    cov = factories.covenant(app_session, [(org, factories.D(2025, 5, 1))])
    table = factories.table(app_session, cov)
    person = factories.person(app_session, org)
    app_session.commit()
    return {"org": org.id, "covenant": cov.id, "table": table.id, "person": person.id}


def test_create_user_answers_the_contract_and_mails_the_invitation(api, scope, app_session):
    response = api.post("/api/v1/users", {"email": "Chair@Example.org", "name": "Carla Chair", "person_id": scope["person"],
                                          "grants": [{"role": "chair", "table_id": scope["table"]},
                                                     {"role": "coordinator", "covenant_id": scope["covenant"]}]})
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"id", "email", "name", "person_id", "grants"}
    assert body["email"] == "chair@example.org" and body["name"] == "Carla Chair" and body["person_id"] == scope["person"]
    assert [set(g) for g in body["grants"]] == [{"id", "role", "covenant_id", "table_id", "organisation_id"}] * 2
    assert body["grants"][0] == {"id": body["grants"][0]["id"], "role": "chair", "covenant_id": None,
                                 "table_id": scope["table"], "organisation_id": None}
    mail = next(m for m in app_session.scalars(select(OutboxMessage)) if m.to == "chair@example.org")  # "to" is encrypted
    assert "/wachtwoord/" in mail.body
    duplicate = api.post("/api/v1/users", {"email": "chair@example.org", "name": "Nog een", "grants": []})
    assert duplicate.status_code == 409 and duplicate.json["error"]["fields"] == {"email": "Er is al een account met dit e-mailadres."}


@pytest.mark.parametrize(("grant", "status", "field"), [
    ({"role": "baas"}, 422, "role"),
    ({"role": "chair"}, 422, "table_id"),
    ({"role": "admin", "covenant_id": "covenant"}, 422, "covenant_id"),
    ({"role": "coordinator", "covenant_id": "covenant", "table_id": "table"}, 422, "table_id"),
    ({"role": "partner_contact", "organisation_id": 424242}, 404, "organisation_id"),
    ({"role": "chair", "table_id": 424242}, 404, "table_id"),
])
def test_create_user_names_the_bad_field(api, scope, grant, status, field, app_session):
    grant = {k: scope.get(v, v) if isinstance(v, str) and k != "role" else v for k, v in grant.items()}
    response = api.post("/api/v1/users", {"email": "x@example.org", "name": "X", "grants": [grant]})
    assert response.status_code == status, response.json
    assert set(response.json["error"]) == {"code", "message", "fields"} and field in response.json["error"]["fields"]
    assert app_session.scalar(select(OutboxMessage.id)) is None  # nothing changed, nothing mailed


def test_create_user_input_errors(api, scope):
    missing = api.post("/api/v1/users", {"grants": "admin"})
    assert missing.status_code == 422 and {"email", "name"} <= set(missing.json["error"]["fields"])
    assert api.post("/api/v1/users", {"email": "y@example.org", "name": "Y", "grants": "admin"}).json["error"]["fields"] == {
        "grants": "Moet een lijst van objecten zijn met een rol."}
    assert api.post("/api/v1/users", {"email": "geen-adres", "name": "Y"}).json["error"]["fields"].keys() == {"email"}
    assert api.post("/api/v1/users", {"email": "y@example.org", "name": "Y", "person_id": 999999}).status_code == 404


def _token_of(client, admin_api, email, grants=()):
    created = admin_api.post("/api/v1/users", {"email": email, "name": email, "grants": list(grants)}).json
    issued = admin_api.post(f"/api/v1/users/{created['id']}/tokens", {})
    assert issued.status_code == 201, issued.json
    return created["id"], Api(client, issued.json["token"]), issued.json


def test_tokens_expire_by_default_in_90_days_and_at_most_in_a_year(api, client, scope):
    user_id, user_api, issued = _token_of(client, api, "t@example.org")
    assert set(issued) == {"id", "token", "expires_on"}
    assert issued["expires_on"] == (accounts.today() + dt.timedelta(days=90)).isoformat()
    assert user_api.get("/api/v1/tables").status_code == 200  # acts as this (grant-less) user
    too_far = (accounts.today() + dt.timedelta(days=366)).isoformat()
    late = api.post(f"/api/v1/users/{user_id}/tokens", {"expires_on": too_far})
    assert late.status_code == 422 and "expires_on" in late.json["error"]["fields"]
    past = api.post(f"/api/v1/users/{user_id}/tokens", {"expires_on": "2020-01-01"})
    assert past.status_code == 422 and "expires_on" in past.json["error"]["fields"]
    year = (accounts.today() + dt.timedelta(days=365)).isoformat()
    own = user_api.post(f"/api/v1/users/{user_id}/tokens", {"expires_on": year})  # a user may issue their own
    assert own.status_code == 201 and own.json["expires_on"] == year
    empty = client.post(f"/api/v1/users/{user_id}/tokens", headers=api.headers)  # no body at all
    assert empty.status_code == 201


def test_only_admin_or_the_user_issue_and_revoke(api, client, scope, app_session):
    a_id, a_api, a_token = _token_of(client, api, "a@example.org")
    b_id, b_api, b_token = _token_of(client, api, "b@example.org")
    assert b_api.post(f"/api/v1/users/{a_id}/tokens", {}).status_code == 403
    assert b_api.post("/api/v1/users", {"email": "c@example.org", "name": "C"}).status_code == 403
    assert client.delete(f"/api/v1/tokens/{a_token['id']}", headers=b_api.headers).status_code == 403
    assert api.post("/api/v1/users/99999/tokens", {}).status_code == 404
    assert client.delete("/api/v1/tokens/99999", headers=api.headers).status_code == 404
    revoked = client.delete(f"/api/v1/tokens/{a_token['id']}", headers=a_api.headers)
    assert revoked.status_code == 204 and revoked.data == b""
    gone = a_api.get("/api/v1/tables")
    assert gone.status_code == 401 and gone.json["error"]["code"] == "unauthorized"
    assert client.delete(f"/api/v1/tokens/{b_token['id']}", headers=api.headers).status_code == 204  # the admin may
    assert b_api.get("/api/v1/tables").status_code == 401


def test_expired_tokens_and_disabled_users_get_401_and_use_is_recorded(api, client, scope, app_session):
    user_id, user_api, issued = _token_of(client, api, "e@example.org")
    assert user_api.get("/api/v1/tables").status_code == 200
    row = app_session.get(ApiToken, issued["id"])
    app_session.refresh(row)
    assert row.last_used_at is not None
    row.expires_on = accounts.today() - dt.timedelta(days=1)
    app_session.commit()
    assert user_api.get("/api/v1/tables").status_code == 401
    _, other_api, _ = _token_of(client, api, "f@example.org")
    assert other_api.get("/api/v1/tables").status_code == 200
    with app_session.begin():
        accounts.disable_user(app_session, accounts.user_by_email(app_session, "f@example.org"))
    assert other_api.get("/api/v1/tables").status_code == 401


def test_create_token_cli_default_90_days(app_session, api):
    user = accounts.user_by_email(app_session, "admin@example.org")
    row = app_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).first()
    assert row.expires_on == accounts.today() + dt.timedelta(days=90)
