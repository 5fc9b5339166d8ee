"""API v1: amendments of a covenant (art. 13) — propose, send for signing, follow.

The rules are :mod:`registry.amendments`; signing goes through the one signing workflow
(document kind ``amendment``). The request and answer shapes are the schemas below.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.registry_api import commit
from forms_service.api.schema import Schema, Text, body, out_str
from forms_service.api.signing_api import SigningRequestSchema, request_json
from registry import access as rights
from registry import amendments, services
from registry.models import Covenant, CovenantAmendment
from signatures import workflow as signing

SUMMARY_MAX = 2000
SUMMARY_MESSAGE = "Beschrijf kort wat er verandert."
"""The service's own words for a missing summary (:func:`registry.amendments.propose`)."""


class NewAmendment(Schema):
    """``{"summary"}``: what the new version changes."""

    summary = Text(SUMMARY_MAX, required=True, error_messages={"required": SUMMARY_MESSAGE})


def _day(**kwargs) -> ma.fields.String:
    """A date :func:`amendment_json` already wrote as ``YYYY-MM-DD`` (or null)."""
    metadata = {"format": "date", **kwargs.pop("metadata", {})}
    return out_str(metadata=metadata, **kwargs)


class AmendmentPartySchema(Schema):
    """A current partner of the covenant, and when it signed the amendment (or null)."""

    organisation_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    signed_on = _day(required=True)


class AmendmentSchema(Schema):
    """An amendment: pending or in force, who signed, who is still missing."""

    id = ma.fields.Integer(required=True)
    covenant_id = ma.fields.Integer(required=True)
    version = ma.fields.Integer(required=True, metadata={"minimum": 2})
    summary = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(list(amendments.STATUSES)))
    proposed_on = ma.fields.String(required=True, metadata={"format": "date"})
    proposed_by = ma.fields.String(required=True)
    in_force_on = _day(required=True, metadata={"description": "the day the last current partner signed"})
    signed_by = ma.fields.List(ma.fields.Nested(AmendmentPartySchema), required=True)
    missing = ma.fields.List(ma.fields.Nested(AmendmentPartySchema), required=True,
                             metadata={"description": "current partners that have not signed yet"})


class AmendmentRequestsSchema(Schema):
    """The signing requests just sent."""

    requests = ma.fields.List(ma.fields.Nested(SigningRequestSchema), required=True)


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


@bp.post("/v1/covenants/<int:covenant_id>/amendments")
@body(NewAmendment, access=lambda covenant_id: _covenant(covenant_id))
@bp.response(201, AmendmentSchema)
@bp.doc(summary="Propose an amendment (art. 13): the covenant's next version, for every current partner to sign; "
                "409 while another is pending or when the covenant is not in force")
def propose_amendment(values, covenant_id: int):
    """Propose the covenant's next version, to be signed by every current partner."""
    covenant = _covenant(covenant_id)
    amendment = amendments.propose(db.session(), covenant, values["summary"], access.acting_user().email)
    return amendment_json(commit(amendment))


@bp.get("/v1/covenants/<int:covenant_id>/amendments/<int:amendment_id>")
@bp.response(200, AmendmentSchema)
@bp.doc(summary="An amendment: pending or in force (from the day the last current partner signed)")
def amendment(covenant_id: int, amendment_id: int):
    """An amendment's status: pending or in force (from when), who signed, who is missing."""
    covenant = services.get(db.session(), Covenant, covenant_id, "covenant_id")
    access.require(rights.READ, rights.covenant_target(db.session(), covenant.id))
    return amendment_json(amendments.get(db.session(), covenant, amendment_id))


@bp.post("/v1/covenants/<int:covenant_id>/amendments/<int:amendment_id>/signing-requests")
@bp.response(201, AmendmentRequestsSchema)
@bp.doc(summary="Send the amendment to the representative of every partner that has not signed it")
def send_amendment(covenant_id: int, amendment_id: int):
    """Send the amendment to the representative of every partner still missing."""
    covenant = services.get(db.session(), Covenant, covenant_id, "covenant_id")
    found = amendments.get(db.session(), covenant, amendment_id)
    rights.authorize_signing(db.session(), access.acting_user(), "amendment", found.id, "send")
    base_url = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    invitations = signing.send_amendment(db.session(), current_app.config, found.id,
                                         actor=access.acting_user().email, base_url=base_url)
    return commit({"requests": [request_json(i.request) for i in invitations]})
