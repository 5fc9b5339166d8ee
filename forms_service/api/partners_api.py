"""API v1: a covenant's partners on a date, each with its status.

The statuses are the registry's (:func:`registry.queries.partner_statuses`,
:data:`registry.rules.PARTNER_STATUSES`); this module only reads input and answers.
"""

from __future__ import annotations

from flask import jsonify, request

from forms_service import access, db
from forms_service.api import bp, openapi
from forms_service.api.inputs import Body
from forms_service.api.openapi import DATE, ID, answer, path_id, query
from registry import access as rights
from registry import queries, rules, services
from registry.errors import BadRequest
from registry.models import Covenant


def _d(day) -> str | None:
    return day.isoformat() if day else None


def covenant_partners(covenant_id: int):
    """Every listed organisation with its status on ``on`` (default today)."""
    session = db.session()
    covenant = services.get(session, Covenant, covenant_id, "covenant_id")
    access.require(rights.READ, rights.covenant_target(session, covenant.id))
    if "on" in request.args and not request.args["on"].strip():
        raise BadRequest("Controleer de velden.", {"on": "Vul een datum in (JJJJ-MM-DD) of laat 'on' weg voor vandaag."})
    query_ = Body.from_query()
    on = query_.date("on") or rules.today()
    query_.check()
    partners = [{"organisation_id": p.organisation_id, "name": name, "status": status.status,
                 "since": _d(status.since), "ends_on": _d(status.ends_on)}
                for p, name, status in queries.partner_statuses(session, covenant, on)]
    return jsonify({"covenant_id": covenant.id, "on": on.isoformat(), "partners": partners})


# ----------------------------------------------------------------------------- OpenAPI

NULL_DATE = {"type": ["string", "null"], "format": "date"}
PARTNERS = {"type": "object", "properties": {
    "covenant_id": ID, "on": DATE,
    "partners": {"type": "array", "items": {"type": "object", "properties": {
        "organisation_id": ID, "name": {"type": "string"},
        "status": {"enum": list(rules.PARTNER_STATUSES), "description":
                   "partner: a partner on the date; notice_given: still a partner, notice given (ends on ends_on); "
                   "ended: no longer a partner after notice or immediate termination; excluded: excluded on or "
                   "before the date; not_signed: not signed (yet) on the date; covenant_not_in_force: signed, but "
                   "the covenant is not in force on the date"},
        "since": {**NULL_DATE, "description": "first day as a partner; null when not (yet) one on the date"},
        "ends_on": {**NULL_DATE, "description": "first day no longer a partner (notice, termination, exclusion)"},
    }, "required": ["organisation_id", "name", "status", "since", "ends_on"]}},
}, "required": ["partners"]}


openapi.FRAGMENTS.append({
    "/api/v1/covenants/{covenant_id}/partners": {"get": {
        "summary": "Every listed organisation of the covenant with its status on a date (default today); "
                   "an empty or malformed on: 400 naming on",
        "parameters": [path_id("covenant_id"), query("on", DATE)],
        "responses": answer("200", "Partners", PARTNERS)}},
})
