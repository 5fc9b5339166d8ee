"""API v1: ``GET /api/v1/dashboard`` — what waits for the token's account today, the same
lines as the start page (:func:`registry.dashboard.dashboard`); URLs lead to the staff
pages where each item is resolved."""

from __future__ import annotations

import marshmallow as ma

from forms_service import access
from forms_service.api import bp
from forms_service.api.schema import Schema, out_str
from forms_service.web import dashboard_lines
from registry import dashboard, rules

LINE_KINDS = ("awaiting_signature", "missing_bijlage1", "consents_pending", "consents_declined",
              "consents_expiring", "notices_ending", "employments_ending", "cases_overdue", "evaluation_due")


class DashboardBarSchema(Schema):
    """One bar of a line's chart: a count per table or document kind."""

    label = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class DashboardItemSchema(Schema):
    """One item of a line, with the staff page where it is resolved."""

    label = ma.fields.String(required=True)
    detail = out_str()
    count = ma.fields.Integer(allow_none=True)
    url = ma.fields.String(required=True, metadata={"description": "the staff page where it is resolved"})
    group = out_str()
    on = out_str(metadata={"format": "date", "description": "the day that matters: sent, ends, due"})
    age_days = ma.fields.Integer(metadata={"description": "awaiting_signature only: days since the first open request"})
    reminders = ma.fields.Integer(metadata={"description": "awaiting_signature only: reminders sent"})


class DashboardLineSchema(Schema):
    """One line of the start page (only lines with something waiting)."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(LINE_KINDS))
    label = ma.fields.String(required=True, metadata={"description": "the line's Dutch heading"})
    count = ma.fields.Integer(required=True, metadata={"minimum": 1})
    bars = ma.fields.List(ma.fields.Nested(DashboardBarSchema), required=True,
                          metadata={"description": "counts per table or document kind (the page's chart)"})
    items = ma.fields.List(ma.fields.Nested(DashboardItemSchema), required=True)


class DashboardSchema(Schema):
    """The dashboard on a day: ``{"on", "lines"}`` (:func:`registry.dashboard.as_json`)."""

    on = ma.fields.String(required=True, metadata={"format": "date", "example": "2026-01-15"})
    lines = ma.fields.List(ma.fields.Nested(DashboardLineSchema), required=True)


@bp.get("/v1/dashboard")
@bp.response(200, DashboardSchema)
@bp.doc(summary="What waits for this account today: the start page's lines (only lines with something waiting)")
def get_dashboard():
    """The dashboard's lines as JSON; an account without grants gets no lines."""
    access.acting_user()
    return dashboard.as_json(dashboard_lines(), rules.today())
