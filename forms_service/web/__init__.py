"""Staff pages: the tables, who may join a table on a date (and why), a person's tables.

Plain server-rendered HTML that works without JavaScript.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from forms_service import access, db
from forms_service.api.export_api import zip_response
from forms_service.api.schema import parse_date
from forms_service.security import MAX_YEAR, MIN_YEAR
from forms_service.auth import login_required
from registry import access as rights
from registry import dashboard, queries, rules
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
        return rules.today(), _("'%(value)s' is geen geldige datum (jaar %(first)s–%(last)s); getoond wordt vandaag.",
                                value=value, first=MIN_YEAR, last=MAX_YEAR)


@bp.app_errorhandler(DomainError)
def domain_error(exc: DomainError):
    """A rule refused what a page asked: a Dutch error page with the 4xx status, never a 500.

    (API requests get the JSON error of the API blueprint instead.)
    """
    db.session().rollback()
    return render_template("error.html", message=exc.message, fields=exc.fields, status=exc.status), exc.status


class PageLinks:
    """Where each dashboard item is resolved: the staff pages (:class:`registry.dashboard.Links`)."""

    def covenant(self, covenant_id: int) -> str:
        return url_for("documents.covenant", covenant_id=covenant_id)

    def table(self, table_id: int) -> str:
        return url_for("web.table", table_id=table_id)

    def declaration(self, declaration_id: int) -> str:
        return url_for("documents.declaration", declaration_id=declaration_id)

    def consent(self, consent_id: int) -> str:
        return url_for("documents.consent", consent_id=consent_id)

    def person(self, person_id: int) -> str:
        return url_for("web.person", person_id=person_id)

    def case(self, case_id: int) -> str:
        return url_for("cases.case", case_id=case_id)


def dashboard_lines() -> list[dashboard.Line]:
    """What waits for the acting user today (the start page and the API)."""
    return dashboard.dashboard(db.session(), access.acting_user(), PageLinks())


HTTP_ERROR_TEXTS = {
    400: (_l("Ongeldig verzoek"), _l("Dit verzoek kon niet worden verwerkt. Ga terug en probeer het opnieuw.")),
    403: (_l("Geen toegang"), _l("U heeft geen toegang tot deze pagina.")),
    404: (_l("Niet gevonden"), _l("Deze pagina bestaat niet (meer). Controleer het adres of ga terug naar het overzicht.")),
    405: (_l("Niet toegestaan"), _l("Deze handeling is op dit adres niet mogelijk.")),
    409: (_l("Dat kan nu niet"), _l("Dit past niet bij de huidige stand van zaken. Laad de pagina opnieuw.")),
    410: (_l("Niet meer beschikbaar"), _l("Deze link of pagina is niet meer beschikbaar.")),
    413: (_l("Te groot"), _l("Het verstuurde bestand is te groot.")),
    500: (_l("Er ging iets mis"), _l("Er is bij ons een fout opgetreden. Probeer het later opnieuw.")),
}
"""Title and explanation of each HTTP error on a web page; other codes get the 400/500 text."""


def own_description(exc: HTTPException) -> str | None:
    """The description our own code passed to ``abort(code, "…")``, or None for
    Werkzeug's English default (pages and the API then say it in their own words)."""
    return exc.description if exc.description and exc.description != type(exc).description else None


def http_error_page(exc: HTTPException):
    """An HTTP error on a web address as our page in the page's language (Dutch by default),
    with its status. A description our own code passed to ``abort(code, "…")`` is shown;
    Werkzeug's English default is not. Redirects and ready responses pass through."""
    if exc.response is not None or (exc.code or 500) < 400:
        return exc
    code = exc.code or 500
    title, text = HTTP_ERROR_TEXTS.get(code) or HTTP_ERROR_TEXTS[500 if code >= 500 else 400]
    text = own_description(exc) or text
    db.session().rollback()
    return render_template("http_error.html", title=title, text=text), code


@bp.get("/")
@login_required
def index():
    """The start page: what waits for this account (the dashboard), then the covenants
    and tables it may see (an admin: all)."""
    covenant_ids, table_ids = access.visible_covenant_ids(), access.visible_table_ids()
    query = select(Covenant).order_by(Covenant.title)
    if covenant_ids is not None:
        query = query.where(Covenant.id.in_(covenant_ids))
    covenants = db.session().scalars(query).all()
    return render_template("web/index.html", covenants=covenants, table_ids=table_ids, lines=dashboard_lines(),
                           today=rules.today())


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
    from forms_service.web import records

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
        people_page=records.paginate(list(result.people)), **records.bulk_context(case_table),
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
    someone = db.session().get(Person, person_id) or abort(404)
    return person_page(someone)


def person_page(someone: Person, errors: list[str] | None = None, status: int = 200):
    """The person's page: tables on a date, the end-of-employment form and its history;
    ``errors`` of a refused end of employment."""
    from registry import covenant_life

    session = db.session()
    target = rights.person_target(session, someone)
    access.require(rights.READ, target)
    on, date_error = requested_date()
    try:
        tables = queries.tables_for(session, someone.id, on)
    except NotFound:
        abort(404)
    return render_template("web/person.html", person=someone, tables=tables, on=on, date_error=date_error,
                           history=covenant_life.history(session, person_id=someone.id),
                           may_end=access.may(rights.MANAGE_PEOPLE, target), end_errors=errors or []), status
