"""API v1: amendments of a covenant (art. 13) — propose, send for signing, follow.

The rules are :mod:`registry.amendments`; signing goes through the one signing workflow
(document kind ``amendment``). Each route parses its input in one small function.
"""

from __future__ import annotations

from flask import current_app, jsonify, request

from forms_service import access, db
from forms_service.api import bp, openapi
from forms_service.api.inputs import Body
from forms_service.api.openapi import ID, answer, body, path_id
from forms_service.api.signing_api import request_json
from registry import access as rights
from registry import amendments, services
from registry.models import Covenant, CovenantAmendment
from signatures import workflow as signing


def _covenant(covenant_id: int) -> Covenant:
    """The covenant or 404; 403 unless the account may manage it."""
    covenant = services.get(db.session(), Covenant, covenant_id, "covenant_id")
    access.require(rights.MANAGE_COVENANT, rights.covenant_target(db.session(), covenant.id))
    return covenant


def amendment_json(amendment: CovenantAmendment) -> dict:
    """An amendment with who signed and who is still missing (organisations)."""
    now = amendments.state(db.session(), amendment)
    party = lambda a: {"organisation_id": a.organisation_id, "name": a.organisation.name,  # noqa: E731
                       "signed_on": a.signed_on.isoformat() if a.signed_on else None}
    return {"id": amendment.id, "covenant_id": amendment.covenant_id, "version": amendment.version,
            "summary": amendment.summary, "status": now.status,
            "proposed_on": amendment.proposed_on.isoformat(), "proposed_by": amendment.proposed_by,
            "in_force_on": now.in_force_on.isoformat() if now.in_force_on else None,
            "signed_by": [party(a) for a in now.signed_by], "missing": [party(a) for a in now.missing]}


def _proposal() -> str:
    """``{"summary"}``: what the new version changes (required, ≤ 2000)."""
    payload = Body.from_request()
    summary = payload.str("summary", required=True, max_length=2000)
    payload.check()
    return summary


@bp.post("/v1/covenants/<int:covenant_id>/amendments")
def propose_amendment(covenant_id: int):
    """Propose the covenant's next version, to be signed by every current partner."""
    covenant = _covenant(covenant_id)
    summary = _proposal()
    amendment = amendments.propose(db.session(), covenant, summary, access.acting_user().email)
    db.session().commit()
    return jsonify(amendment_json(amendment)), 201


@bp.get("/v1/covenants/<int:covenant_id>/amendments/<int:amendment_id>")
def amendment(covenant_id: int, amendment_id: int):
    """An amendment's status: pending or in force (from when), who signed, who is missing."""
    covenant = services.get(db.session(), Covenant, covenant_id, "covenant_id")
    access.require(rights.READ, rights.covenant_target(db.session(), covenant.id))
    return jsonify(amendment_json(amendments.get(db.session(), covenant, amendment_id)))


@bp.post("/v1/covenants/<int:covenant_id>/amendments/<int:amendment_id>/signing-requests")
def send_amendment(covenant_id: int, amendment_id: int):
    """Send the amendment to the representative of every partner still missing."""
    covenant = services.get(db.session(), Covenant, covenant_id, "covenant_id")
    found = amendments.get(db.session(), covenant, amendment_id)
    rights.authorize_signing(db.session(), access.acting_user(), "amendment", found.id, "send")
    base_url = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    invitations = signing.send_amendment(db.session(), current_app.config, found.id,
                                         actor=access.acting_user().email, base_url=base_url)
    db.session().commit()
    return jsonify({"requests": [request_json(i.request) for i in invitations]}), 201


# ----------------------------------------------------------------------------- OpenAPI

NULL_DATE = {"type": ["string", "null"], "format": "date"}
PARTY = {"type": "object", "properties": {"organisation_id": ID, "name": {"type": "string"}, "signed_on": NULL_DATE}}
AMENDMENT = {"type": "object", "properties": {
    "id": ID, "covenant_id": ID, "version": {"type": "integer", "minimum": 2}, "summary": {"type": "string"},
    "status": {"enum": list(amendments.STATUSES)}, "proposed_on": openapi.DATE, "proposed_by": {"type": "string"},
    "in_force_on": {**NULL_DATE, "description": "the day the last current partner signed"},
    "signed_by": {"type": "array", "items": PARTY},
    "missing": {"type": "array", "items": PARTY, "description": "current partners that have not signed yet"},
}, "required": ["id", "version", "status", "in_force_on", "signed_by", "missing"]}

openapi.FRAGMENTS.append({
    "/api/v1/covenants/{covenant_id}/amendments": {"post": {
        "summary": "Propose an amendment (art. 13): the covenant's next version, for every current partner to sign; "
                   "409 while another is pending or when the covenant is not in force",
        "parameters": [path_id("covenant_id")],
        "requestBody": body({"summary": {"type": "string", "maxLength": 2000}}, ["summary"]),
        "responses": answer("201", "Proposed", AMENDMENT)}},
    "/api/v1/covenants/{covenant_id}/amendments/{amendment_id}": {"get": {
        "summary": "An amendment: pending or in force (from the day the last current partner signed)",
        "parameters": [path_id("covenant_id"), path_id("amendment_id")],
        "responses": answer("200", "Amendment", AMENDMENT)}},
    "/api/v1/covenants/{covenant_id}/amendments/{amendment_id}/signing-requests": {"post": {
        "summary": "Send the amendment to the representative of every partner that has not signed it",
        "parameters": [path_id("covenant_id"), path_id("amendment_id")],
        "responses": answer("201", "Sent", {"type": "object", "properties": {
            "requests": {"type": "array", "items": {"type": "object"}}}})}},
})
