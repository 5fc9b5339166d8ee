"""API v1 for staff accounts: invite users (with grants) and issue or revoke API tokens.

Users: admin only (:mod:`registry.access`, permission ``admin``).
Tokens: the admin or the token's own user. A token works up to and including
``expires_on`` (default today + 90 days, at most today + 365), not after it is revoked,
and not while its user is disabled.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, g, request

from forms_service import db
from forms_service.account_mail import base_url, send_invitation
from forms_service import access
from forms_service.api import bp
from forms_service.api.schema import Date, Id, Schema, Text, body, check_json_object, items, out_date
from registry import access as rights
from registry import accounts, limits
from registry.errors import Forbidden

ROLES = ["admin", "coordinator", "chair", "partner_contact", "privacy_officer"]


class GrantIn(Schema):
    role = Text(limits.NAME_MAX, required=True, metadata={"enum": ROLES, "description": "else 422 grants[i].role"})
    covenant_id = Id()
    table_id = Id()
    organisation_id = Id()


class NewUser(Schema):
    email = Text(limits.EMAIL_MAX, required=True, metadata={"description": "checked by the service (422 email)"})
    name = Text(limits.NAME_MAX, required=True)
    person_id = Id()
    grants = items(GrantIn, load_default=list, allow_none=True, error_messages={
        "invalid": "Moet een lijst van objecten zijn met een rol."}, metadata={
        "description": "the scope a role needs (covenant, table, organisation) is checked by the service (422)"})


class GrantSchema(Schema):
    id = ma.fields.Integer(required=True)
    role = ma.fields.String(required=True, metadata={"enum": ROLES})
    covenant_id = ma.fields.Integer(allow_none=True, required=True)
    table_id = ma.fields.Integer(allow_none=True, required=True)
    organisation_id = ma.fields.Integer(allow_none=True, required=True)


class UserSchema(Schema):
    """A staff account (no secrets)."""

    id = ma.fields.Integer(required=True)
    email = ma.fields.String(required=True)
    name = ma.fields.String(allow_none=True, required=True)
    person_id = ma.fields.Integer(allow_none=True, required=True)
    grants = ma.fields.List(ma.fields.Nested(GrantSchema), required=True)


class NewToken(Schema):
    expires_on = Date(metadata={"description": "default today + 90 days; past or after today + 365: 422"})


class TokenSchema(Schema):
    id = ma.fields.Integer(attribute="row.id", required=True)
    token = ma.fields.String(required=True)
    expires_on = out_date(attribute="row.expires_on", required=True)


@bp.post("/v1/users")
@bp.doc(summary="Invite a user (admin); mails a one-time set-password link")
@body(NewUser, access=lambda: access.require(rights.ADMIN))
@bp.response(201, UserSchema)
def create_user(values):
    """Invite a user: no password yet; the invitation mail holds a one-time set-password link."""
    access.require(rights.ADMIN)
    s = db.session()
    grants = [{k: v for k, v in grant.items() if v is not None} for grant in values.pop("grants") or []]
    invitation = accounts.invite_user(s, **values, grants=grants, created_by=g.api_user.email,
                                      days=int(current_app.config.get("ACCOUNT_LINK_DAYS") or accounts.LINK_DAYS))
    send_invitation(s, current_app.config, invitation, base_url(), invited_by=g.api_user.name or g.api_user.email)
    s.commit()
    return invitation.user


@bp.post("/v1/users/<int:user_id>/tokens")
@bp.doc(summary="Issue an API token (admin or the user); default 90 days, at most 365")
@bp.arguments(NewToken, location="json", required=False, error_status_code=422)
@bp.response(201, TokenSchema)
def create_token(values, user_id: int):
    """Issue an API token for a user (the admin, or that user); the body may be left out."""
    if request.get_data():
        check_json_object()
    s = db.session()
    user = accounts.get_user(s, user_id)
    if not (access.may(rights.ADMIN) or g.api_user.id == user.id):
        raise Forbidden("Alleen voor beheerders of de gebruiker zelf.")
    issued = accounts.issue_token(s, user, (values or {}).get("expires_on"))
    s.commit()
    return issued


@bp.delete("/v1/tokens/<int:token_id>")
@bp.doc(summary="Revoke an API token (admin or its owner)")
@bp.response(204)
def revoke_token(token_id: int):
    """Revoke a token (the admin or its owner); it answers 401 from then on."""
    s = db.session()
    row = accounts.get_token(s, token_id)
    if not (access.may(rights.ADMIN) or g.api_user.id == row.user_id):
        raise Forbidden("Alleen voor beheerders of de eigenaar van het token.")
    accounts.revoke_token(s, row)
    s.commit()
    return ""
