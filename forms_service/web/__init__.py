"""Staff pages: the tables, who may join a table on a date (and why), a person's tables.

Plain server-rendered HTML that works without JavaScript.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from forms_service import access, db
from forms_service.api.export_api import zip_response
from forms_service.api.schema import parse_date
from forms_service.security import MAX_YEAR, MIN_YEAR
from forms_service.auth import login_required
from registry import access as rights
from registry import queries, rules
from registry.documents import build
from registry.errors import DomainError, NotFound
from registry.models import CaseTable, Covenant, Person
from signatures import export

bp = Blueprint("web", __name__)


def requested_date() -> tuple[dt.date, str | None]:
    """The ``on`` query parameter (default today) and a Dutch error when it is not a date."""
    value = request.args.get("on", "").strip()
    if not value:
        return rules.today(), None
    try:
        return parse_date(value), None
    except ValueError:
        return rules.today(), f"'{value}' is geen geldige datum (jaar {MIN_YEAR}–{MAX_YEAR}); getoond wordt vandaag."


@bp.app_errorhandler(DomainError)
def domain_error(exc: DomainError):
    """A rule refused what a page asked: a Dutch error page with the 4xx status, never a 500.

    (API requests get the JSON error of the API blueprint instead.)
    """
    db.session().rollback()
    return render_template("error.html", message=exc.message, fields=exc.fields, status=exc.status), exc.status


@bp.get("/")
@login_required
def index():
    """The covenants and tables this account may see (an admin: all)."""
    covenant_ids, table_ids = access.visible_covenant_ids(), access.visible_table_ids()
    query = select(Covenant).order_by(Covenant.title)
    if covenant_ids is not None:
        query = query.where(Covenant.id.in_(covenant_ids))
    covenants = db.session().scalars(query).all()
    return render_template("web/index.html", covenants=covenants, table_ids=table_ids)


@bp.get("/tables/<int:table_id>")
@login_required
def table(table_id: int):
    """Who may join this table on a date (default today), with basis and reasons; the
    cases this account may see with their phase and due dates, and a "new case" form."""
    session = db.session()
    case_table = session.get(CaseTable, table_id) or abort(404)
    return render_table(case_table)


def render_table(case_table: CaseTable, new_case_form=None, status: int = 200):
    """The table page (also after a refused "new case" form, with its errors)."""
    from forms_service.web import cases as case_pages

    session = db.session()
    target = rights.table_target(session, case_table)
    access.require(rights.READ, target)
    on, date_error = requested_date()
    case_ref = request.args.get("case", "").strip()[:100] or None
    result = queries.entitled(session, case_table.id, on, case_ref)
    partners = sorted(queries.organisation_decisions(session, case_table.covenant, on), key=lambda row: row[1].casefold())
    opening = rights.Target(covenant_ids=frozenset({case_table.covenant_id}), table_ids=frozenset({case_table.id}),
                            structural_only=True)
    may_open = access.may(rights.MANAGE_CASES, opening)
    form = new_case_form if new_case_form is not None else (case_pages.new_case_form(case_table) if may_open else None)
    return render_template(
        "web/table.html", table=case_table, result=result, partners=partners,
        on=on, case_ref=case_ref, date_error=date_error, numbers=build.annex_numbers(case_table),
        may_export=export.may_export(session, access.acting_user(), target),
        case_rows=case_pages.table_case_rows(case_table, on), new_case=form,
        case_pack=case_pages.cases.pack_of_table(case_table),
    ), status


@bp.get("/tables/<int:table_id>/ondertekend.zip")
@login_required
def table_signed_zip(table_id: int):
    """Every sealed Bijlage 1/2/4 of the table this account may download, as one ZIP."""
    case_table = db.session().get(CaseTable, table_id) or abort(404)
    return zip_response(export.plan_table_export(db.session(), access.acting_user(), case_table))


@bp.get("/people/<int:person_id>")
@login_required
def person(person_id: int):
    """The tables a person may join on a date."""
    session = db.session()
    someone = session.get(Person, person_id) or abort(404)
    access.require(rights.READ, rights.person_target(session, someone))
    on, date_error = requested_date()
    try:
        tables = queries.tables_for(session, person_id, on)
    except NotFound:
        abort(404)
    return render_template("web/person.html", person=someone, tables=tables, on=on, date_error=date_error)
