"""API v1 for the access log (NEN 7513): administrators and privacy officers read who
read which resident or signer data. Reading the log is itself logged."""

from __future__ import annotations

import marshmallow as ma

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.registry_api import commit
from forms_service.api.schema import Date, Id, Schema, out_str, query
from registry import access as rights
from registry import access_log


class LogQuery(Schema):
    consent_id = Id(in_query=True)
    user_id = Id(in_query=True)
    from_ = Date(in_query=True, data_key="from", metadata={"description": "first day (inclusive)"})
    to = Date(in_query=True, metadata={"description": "last day (inclusive)"})


class EntrySchema(Schema):
    """One access-log entry."""

    at = ma.fields.Function(lambda e: e.occurred_at.isoformat(), required=True, metadata={"type": "string"})
    user_id = ma.fields.Integer(allow_none=True, required=True)
    email = out_str(attribute="actor", required=True)
    role = out_str(required=True)
    scope = out_str(required=True)
    organisation_id = ma.fields.Integer(allow_none=True, required=True)
    action = ma.fields.String(required=True, metadata={"enum": list(access_log.ACTIONS)})
    subject = ma.fields.Function(lambda e: {"kind": e.subject_kind, "id": e.subject_id}, required=True, metadata={
        "type": "object", "properties": {"kind": {"type": "string"}, "id": {"type": ["integer", "null"]}}})
    ip = out_str(required=True)


class EntriesSchema(Schema):
    entries = ma.fields.List(ma.fields.Nested(EntrySchema), required=True)


@bp.get("/v1/access-log")
@bp.doc(summary="The access log (NEN 7513), newest first: administrators and privacy officers; reading it is logged")
@query(LogQuery)
@bp.response(200, EntriesSchema)
def read_access_log(filters):
    """Access-log entries, newest first (administrators; privacy officers: their covenants)."""
    access.require_role_for(rights.LOGS)
    filters = {"consent_id": filters["consent_id"], "user_id": filters["user_id"], "from_": filters["from_"],
               "to": filters["to"]}
    user = access.acting_user()
    found = access_log.readable_entries(db.session(), user, **filters)
    use = rights.authorize(db.session(), user, rights.LOGS, _any_privacy_target(user))
    access.log_read(use, "search" if any(v is not None for v in filters.values()) else "view", "access_log", None,
                    {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v is not None})
    return commit({"entries": found})


def _any_privacy_target(user) -> rights.Target:
    """A target inside one of the user's privacy-officer covenants (admins need none)."""
    covenants = [g.covenant_id for g in user.grants if g.role == "privacy_officer" and g.covenant_id]
    return rights.Target(covenant_ids=frozenset(covenants[:1]))
