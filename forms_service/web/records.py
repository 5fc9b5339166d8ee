"""Staff pages around the records: the covenant's annual evaluation (art. 12), the bulk
send of Bijlage 1 from a table page, and finding people and organisations (search and
pagination, 50 a page).

Views as everywhere: load, check access through :mod:`registry.access`, call a service,
render; the request commits once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from wtforms import TextAreaField
from wtforms.validators import Length

from forms_service import access, db
from forms_service.auth import current_user, login_required
from forms_service.web.document_forms import DateInput, DutchMeta
from registry import access as rights
from registry import evaluations
from registry.errors import DomainError
from registry.models import CaseTable, Covenant, Declaration, Organisation, Partnership, Person
from signatures import bulk

bp = Blueprint("records", __name__)

PER_PAGE = 50
"""Rows per page of every long list (people, organisations, a table's people)."""


# ----------------------------------------------------------------------------- pagination


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, its number (from 1), and how many pages there are."""

    rows: list
    number: int
    pages: int
    total: int

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 when empty)."""
        return (self.number - 1) * PER_PAGE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.number * PER_PAGE, self.total)


def page_number(arg: str = "page") -> int:
    """The page asked for in the query (``?page=3``); anything else is page 1."""
    value = request.args.get(arg, "")
    return int(value) if value.isdigit() and 0 < int(value) < 10**6 else 1


def paginate(rows: list, number: int | None = None, arg: str = "page") -> Page:
    """A page of an already loaded list (a page past the end shows the last one)."""
    total = len(rows)
    pages = max(1, math.ceil(total / PER_PAGE))
    number = min(number or page_number(arg), pages)
    return Page(rows[(number - 1) * PER_PAGE:number * PER_PAGE], number, pages, total)


def paginate_query(query, count_query, arg: str = "page") -> Page:
    """A page of a SELECT, counted and sliced in the database."""
    session = db.session()
    total = session.scalar(count_query) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    number = min(page_number(arg), pages)
    rows = list(session.scalars(query.limit(PER_PAGE).offset((number - 1) * PER_PAGE)))
    return Page(rows, number, pages, total)


def search_text() -> str:
    """The search box (``?q=``), trimmed; LIKE wildcards typed by the user are plain text."""
    return request.args.get("q", "").strip()[:100]


def like(text: str) -> str:
    """``text`` as a LIKE pattern "contains", its own ``%``, ``_`` and ``\\`` escaped
    (use with ``escape="\\"``)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# ----------------------------------------------------------------------------- the annual evaluation


class EvaluationForm(FlaskForm):
    """Record an annual evaluation: the day it was held and a short note."""

    class Meta(DutchMeta):
        pass

    held_on = DateInput(lazy_gettext("Datum van de evaluatie"), required=lazy_gettext("Vul de datum van de evaluatie in."))
    note = TextAreaField(lazy_gettext("Notitie (wie deden mee, wat is afgesproken)"),
                         [Length(max=evaluations.NOTE_MAX, message=lazy_gettext("Ten hoogste 2000 tekens."))])


def evaluation_context(covenant: Covenant, form: EvaluationForm | None = None) -> dict:
    """What the covenant page shows of its evaluations: the history, the next due date,
    and the form for those who coordinate the covenant."""
    session = db.session()
    history = evaluations.evaluations_of(session, covenant.id)
    may_record = access.may(rights.MANAGE_COVENANT, rights.covenant_target(session, covenant.id))
    return {"evaluations": history,
            "evaluation_due": evaluations.next_due(covenant, history[0].held_on if history else None),
            "evaluation_form": (form or EvaluationForm(formdata=None)) if may_record and covenant.in_force_on else None}


@bp.post("/covenants/<int:covenant_id>/evaluaties")
@login_required
def record_evaluation(covenant_id: int):
    """Record that the partners evaluated the covenant (art. 12); back to its page."""
    from forms_service.web.documents import covenant_page

    session = db.session()
    covenant = session.get(Covenant, covenant_id) or abort(404)
    access.require(rights.MANAGE_COVENANT, rights.covenant_target(session, covenant.id))
    form = EvaluationForm()
    if not form.validate():
        session.rollback()
        page = covenant_page(covenant, status=422, evaluation_form=form)
        session.commit()  # only what showing the page logged (the signers read)
        return page
    try:
        evaluations.record_evaluation(session, covenant, held_on=form.held_on.data, note=form.note.data or "",
                                      recorded_by=current_user().email)
    except DomainError as exc:
        session.rollback()
        for name, message in exc.fields.items():
            if name in form:
                form[name].errors = [*form[name].errors, message]
        page = covenant_page(covenant, status=exc.status, evaluation_form=form)
        session.commit()  # only what showing the page logged
        return page
    session.commit()
    flash(_("De evaluatie is vastgelegd."), "success")
    return redirect(url_for("documents.covenant", covenant_id=covenant.id) + "#evaluatie")


# ----------------------------------------------------------------------------- bulk Bijlage 1


def bulk_context(table: CaseTable) -> dict:
    """For the table page: who lacks a Bijlage 1 (a page of them), whether this account may
    send it to them all, and how far the latest bulk send is."""
    from registry import dashboard, rules

    session = db.session()
    target = rights.table_target(session, table)
    if not access.may(rights.MANAGE_DECLARATIONS, target):
        return {"lacking": None, "bulk": None, "bulk_refresh": 0, "invited": {}}
    lacking = dashboard.lacking_bijlage1(session, table, rules.today())
    latest = bulk.latest(session, table.id)
    progress = bulk.progress(session, latest) if latest else None
    from signatures import workflow

    invited = {person_id: request for (person_id, kind, _case), request
               in workflow.open_declaration_requests(session, table.id).items() if kind == rules.STRUCTURAL}
    return {"lacking": paginate(lacking, arg="zonder"), "lacking_total": len(lacking), "bulk": progress,
            "bulk_refresh": bulk_refresh_seconds(progress), "invited": invited}


BULK_REFRESH_SECONDS = 5
"""While a bulk send is going out, the table page reloads itself this often (a meta refresh)."""


def bulk_refresh_seconds(latest: bulk.Progress | None) -> int:
    """Seconds between reloads of a table page whose bulk send is still going out, 0 for
    none: only when SMTP is configured (the worker delivers) and for 10 minutes at most."""
    import datetime as dt

    if latest is None or latest.done or not current_app.config.get("MAIL_SERVER"):
        return 0
    started = latest.bulk.started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.timezone.utc)
    return BULK_REFRESH_SECONDS if dt.datetime.now(dt.timezone.utc) - started < dt.timedelta(minutes=10) else 0


@bp.post("/tables/<int:table_id>/bijlage1-versturen")
@login_required
def send_bijlage1_to_all(table_id: int):
    """Queue a Bijlage 1 for everyone at the table who lacks one; the table page then shows
    "n van m verstuurd" while the worker sends them."""
    from forms_service.signing.views import base_url

    session = db.session()
    table = session.get(CaseTable, table_id) or abort(404)
    access.require(rights.MANAGE_DECLARATIONS, rights.table_target(session, table))
    sent = bulk.send_bijlage1_to_lacking(session, current_app.config, table, actor=current_user().email,
                                         base_url=base_url())
    session.commit()
    if sent.outbox_ids:
        flash(_("%(n)s uitnodigingen voor Bijlage 1 klaargezet; ze worden nu verstuurd.", n=len(sent.outbox_ids)), "success")
    else:
        flash(_("Er was niemand om uit te nodigen (iedereen heeft een Bijlage 1 of is al uitgenodigd)."), "warning")
    return redirect(url_for("web.table", table_id=table.id) + "#bijlage1")


# ----------------------------------------------------------------------------- people and organisations


def _visible_people_filter(user_tables: set[int] | None):
    """People this account may read: an admin everyone; others the people of their
    covenants' partner organisations and of their tables (declarations, roles)."""
    if user_tables is None:
        return None
    covenants = access.visible_covenant_ids() or set()
    orgs = select(Partnership.organisation_id).where(Partnership.covenant_id.in_(covenants))
    at_tables = select(Declaration.person_id).where(Declaration.table_id.in_(user_tables))
    roles = select(CaseTable.chair_id).where(CaseTable.id.in_(user_tables)).union(
        select(CaseTable.coordinator_id).where(CaseTable.id.in_(user_tables)))
    own = [g.organisation_id for g in access.acting_user().grants if g.organisation_id]
    return or_(Person.organisation_id.in_(orgs), Person.id.in_(at_tables), Person.id.in_(roles),
               Person.organisation_id.in_(own))


@bp.get("/mensen")
@login_required
def people():
    """Everyone this account may read, searchable by name, organisation or function, 50 a page."""
    access.require_role_for(rights.READ)
    q = search_text()
    query = select(Person).join(Organisation, Organisation.id == Person.organisation_id)
    visible = _visible_people_filter(access.visible_table_ids())
    if visible is not None:
        query = query.where(visible)
    if q:
        query = query.where(or_(Person.name.ilike(like(q), escape="\\"), Organisation.name.ilike(like(q), escape="\\"),
                                Person.function.ilike(like(q), escape="\\")))
    count = select(func.count()).select_from(query.with_only_columns(Person.id).subquery())
    page = paginate_query(query.order_by(Person.name, Person.id), count)
    return render_template("web/people.html", page=page, q=q)


@bp.get("/organisaties")
@login_required
def organisations():
    """The organisations this account may read (partners of its covenants; an admin all),
    with their number of people and covenants; searchable by name, 50 a page."""
    access.require_role_for(rights.READ)
    q = search_text()
    query = select(Organisation)
    if not access.acting_user().is_admin:
        covenants = access.visible_covenant_ids() or set()
        own = [g.organisation_id for g in access.acting_user().grants if g.organisation_id]
        query = query.where(or_(Organisation.id.in_(select(Partnership.organisation_id)
                                                    .where(Partnership.covenant_id.in_(covenants))),
                                Organisation.id.in_(own)))
    if q:
        query = query.where(Organisation.name.ilike(like(q), escape="\\"))
    count = select(func.count()).select_from(query.with_only_columns(Organisation.id).subquery())
    page = paginate_query(query.order_by(Organisation.name), count)
    ids = [o.id for o in page.rows]
    session = db.session()
    people_count = dict(session.execute(select(Person.organisation_id, func.count()).where(
        Person.organisation_id.in_(ids)).group_by(Person.organisation_id)).all()) if ids else {}
    partner_of: dict[int, list[Covenant]] = {}
    if ids:
        for organisation_id, covenant in session.execute(
                select(Partnership.organisation_id, Covenant).join(Covenant, Covenant.id == Partnership.covenant_id)
                .where(Partnership.organisation_id.in_(ids)).order_by(Covenant.title)):
            partner_of.setdefault(organisation_id, []).append(covenant)
    return render_template("web/organisations.html", page=page, q=q, people_count=people_count, partner_of=partner_of)
