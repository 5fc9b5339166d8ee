"""API v1 for the access log (NEN 7513): administrators and privacy officers read who
read which resident or signer data. Reading the log is itself logged."""

from __future__ import annotations

from flask import jsonify

from forms_service import access, db
from forms_service.api import bp, openapi
from forms_service.api.inputs import Body
from forms_service.api.openapi import DATE, ID, answer, query
from registry import access as rights
from registry import access_log
from registry.models import AccessLogEntry


def entry_json(entry: AccessLogEntry) -> dict:
    """One access-log entry as JSON."""
    return {
        "at": entry.occurred_at.isoformat(), "user_id": entry.user_id, "email": entry.actor, "role": entry.role,
        "scope": entry.scope, "organisation_id": entry.organisation_id, "action": entry.action,
        "subject": {"kind": entry.subject_kind, "id": entry.subject_id}, "ip": entry.ip,
    }


def log_filters(args: Body) -> dict:
    """The filters ``consent_id``, ``user_id``, ``from`` and ``to`` (400 naming a bad one)."""
    filters = {"consent_id": args.int("consent_id"), "user_id": args.int("user_id"),
               "from_": args.date("from"), "to": args.date("to")}
    args.check()
    return filters


@bp.get("/v1/access-log")
def read_access_log():
    """Access-log entries, newest first (administrators; privacy officers: their covenants)."""
    access.require_role_for(rights.LOGS)
    filters = log_filters(Body.from_query())
    user = access.acting_user()
    found = access_log.readable_entries(db.session(), user, **filters)
    use = rights.authorize(db.session(), user, rights.LOGS, _any_privacy_target(user))
    access.log_read(use, "search" if any(v is not None for v in filters.values()) else "view", "access_log", None,
                    {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v is not None})
    payload = {"entries": [entry_json(e) for e in found]}
    db.session().commit()
    return jsonify(payload)


def _any_privacy_target(user) -> rights.Target:
    """A target inside one of the user's privacy-officer covenants (admins need none)."""
    covenants = [g.covenant_id for g in user.grants if g.role == "privacy_officer" and g.covenant_id]
    return rights.Target(covenant_ids=frozenset(covenants[:1]))


ENTRY = {"type": "object", "properties": {
    "at": {"type": "string", "format": "date-time"}, "user_id": {"type": ["integer", "null"]},
    "email": {"type": ["string", "null"]}, "role": {"type": ["string", "null"]}, "scope": {"type": ["string", "null"]},
    "organisation_id": {"type": ["integer", "null"]}, "action": {"enum": list(access_log.ACTIONS)},
    "subject": {"type": "object", "properties": {"kind": {"type": "string"}, "id": {"type": ["integer", "null"]}}},
    "ip": {"type": ["string", "null"]}}}

openapi.FRAGMENTS.append({
    "/api/v1/access-log": {"get": {
        "summary": "The access log (NEN 7513), newest first: administrators and privacy officers; reading it is logged",
        "parameters": [query("consent_id", ID), query("user_id", ID), query("from", DATE), query("to", DATE)],
        "responses": answer("200", "Entries", {"type": "object", "properties": {"entries": {"type": "array", "items": ENTRY}}}),
    }},
})
