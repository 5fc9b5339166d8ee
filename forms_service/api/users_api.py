"""API v1 for staff accounts: invite users (with grants) and issue or revoke API tokens.

Users: admin only (:mod:`registry.access`, permission ``admin``).
Tokens: the admin or the token's own user. A token works up to and including
``expires_on`` (default today + 90 days, at most today + 365), not after it is revoked,
and not while its user is disabled.
"""

from __future__ import annotations

from flask import current_app, g, jsonify, request

from forms_service import db
from forms_service.account_mail import base_url, send_invitation
from forms_service import access
from forms_service.api import bp
from registry import access as rights
from forms_service.api.inputs import Body
from forms_service.api.openapi import DATE, FRAGMENTS, ID, answer, body, path_id
from registry import accounts
from registry.errors import BadRequest, Forbidden, ValidationError
from registry.models import Grant, User


def grant_json(grant: Grant) -> dict:
    """A grant as JSON."""
    return {"id": grant.id, "role": grant.role, "covenant_id": grant.covenant_id, "table_id": grant.table_id,
            "organisation_id": grant.organisation_id}


def user_json(user: User) -> dict:
    """A user as JSON (no secrets)."""
    return {"id": user.id, "email": user.email, "name": user.name, "person_id": user.person_id,
            "grants": [grant_json(grant) for grant in user.grants]}


def _grants(raw) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ValidationError("Controleer de velden.", {"grants": "Moet een lijst van objecten zijn met een rol."})
    return raw


@bp.post("/v1/users")
def create_user():
    """Invite a user: no password yet; the invitation mail holds a one-time set-password link."""
    access.require(rights.ADMIN)
    data = Body.from_request()
    values = dict(email=data.str("email", required=True, max_length=254), name=data.str("name", required=True, max_length=200),
                  person_id=data.int("person_id"))
    data.check()
    s = db.session()
    invitation = accounts.invite_user(s, **values, grants=_grants(data.data.get("grants")), created_by=g.api_user.email,
                                      days=int(current_app.config.get("ACCOUNT_LINK_DAYS") or accounts.LINK_DAYS))
    send_invitation(s, current_app.config, invitation, base_url(), invited_by=g.api_user.name or g.api_user.email)
    s.commit()
    return jsonify(user_json(invitation.user)), 201


@bp.post("/v1/users/<int:user_id>/tokens")
def create_token(user_id: int):
    """Issue an API token for a user (the admin, or that user)."""
    s = db.session()
    user = accounts.get_user(s, user_id)
    if not (access.may(rights.ADMIN) or g.api_user.id == user.id):
        raise Forbidden("Alleen voor beheerders of de gebruiker zelf.")
    raw = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(raw, dict):
        raise BadRequest("De body moet een JSON-object zijn (Content-Type: application/json).", code="bad_json")
    issued = accounts.issue_token(s, user, raw.get("expires_on"))
    s.commit()
    return jsonify({"id": issued.row.id, "token": issued.token, "expires_on": issued.row.expires_on.isoformat()}), 201


@bp.delete("/v1/tokens/<int:token_id>")
def revoke_token(token_id: int):
    """Revoke a token (the admin or its owner); it answers 401 from then on."""
    s = db.session()
    row = accounts.get_token(s, token_id)
    if not (access.may(rights.ADMIN) or g.api_user.id == row.user_id):
        raise Forbidden("Alleen voor beheerders of de eigenaar van het token.")
    accounts.revoke_token(s, row)
    s.commit()
    return "", 204


GRANT = {"type": "object", "properties": {"role": {"enum": ["admin", "coordinator", "chair", "partner_contact", "privacy_officer"]},
                                          "covenant_id": ID, "table_id": ID, "organisation_id": ID}, "required": ["role"]}
USER = {"type": "object", "properties": {"id": ID, "email": {"type": "string"}, "name": {"type": "string"},
                                         "person_id": {"type": ["integer", "null"]},
                                         "grants": {"type": "array", "items": {**GRANT, "properties": {**GRANT["properties"], "id": ID}}}}}

FRAGMENTS.append({
    "/api/v1/users": {"post": {
        "summary": "Invite a user (admin); mails a one-time set-password link",
        "requestBody": body({"email": {"type": "string", "format": "email"}, "name": {"type": "string"}, "person_id": ID,
                             "grants": {"type": "array", "items": GRANT}}, ["email", "name"]),
        "responses": answer("201", "Created", USER)}},
    "/api/v1/users/{user_id}/tokens": {"post": {
        "summary": "Issue an API token (admin or the user); default 90 days, at most 365",
        "parameters": [path_id("user_id")], "requestBody": {**body({"expires_on": DATE}, []), "required": False},
        "responses": answer("201", "Created", {"type": "object", "properties": {"id": ID, "token": {"type": "string"}, "expires_on": DATE}})}},
    "/api/v1/tokens/{token_id}": {"delete": {
        "summary": "Revoke an API token (admin or its owner)", "parameters": [path_id("token_id")],
        "responses": answer("204", "Revoked")}},
})
