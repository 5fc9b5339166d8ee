"""The access log page (*toegangslog*, NEN 7513) for administrators and privacy
officers, with filters; reading it is itself logged."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request

from forms_service import access, db
from forms_service.auth import login_required
from registry import access as rights
from registry import access_log

bp = Blueprint("access_log", __name__)


def _filters() -> tuple[dict, dict[str, str]]:
    """The page's filters from the query, with a Dutch message per bad one."""
    filters, errors = {}, {}
    for name, key in (("consent_id", "consent_id"), ("user_id", "user_id")):
        value = request.args.get(name, "").strip()
        if value:
            if value.isdigit() and 0 < int(value) < 2**31:
                filters[key] = int(value)
            else:
                errors[name] = "Geen geldig nummer."
    for name, key in (("from", "from_"), ("to", "to")):
        value = request.args.get(name, "").strip()
        if value:
            try:
                filters[key] = dt.date.fromisoformat(value)
            except ValueError:
                errors[name] = "Geen geldige datum."
    return filters, errors


@bp.get("/toegangslog")
@login_required
def page():
    """Who read which resident or signer data, newest first."""
    access.require_role_for(rights.LOGS)
    user = access.acting_user()
    filters, errors = _filters()
    found = access_log.readable_entries(db.session(), user, **filters)
    use = rights.widest_use(db.session(), user)
    access.log_read(use, "search" if filters else "view", "access_log", None,
                    {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()})
    html = render_template("web/access_log.html", entries=found, args=request.args, errors=errors)
    db.session().commit()
    return html


@bp.get("/bewijslog")
@login_required
def evidence():
    """The evidence log of signings (*bewijslog*), newest first: who did what with which
    document, from which IP. It holds signers' personal data, so reading it is logged."""
    from signatures.evidence import readable_evidence

    access.require_role_for(rights.LOGS)
    user = access.acting_user()
    rows = readable_evidence(db.session(), user)
    access.log_read(rights.widest_use(db.session(), user), "view", "evidence_log", None)
    html = render_template("web/evidence_log.html", events=rows)
    db.session().commit()
    return html
