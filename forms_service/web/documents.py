"""Staff pages for the paperwork: covenants (draft, edit, preview, PDF/DOCX) and the
form annexes of the packs by key (``/forms/bijlage1``, ``/forms/bijlage5``: filled in
online, or printed blank for paper), named with the pack's number and title.

Every form is saved in one transaction: the registry services flush, the view commits
once; when a service refuses, its per-field Dutch messages go onto the form fields,
the transaction is rolled back and the form is shown again with what was typed.
"""

from __future__ import annotations

from flask_babel import gettext as _
from contextlib import contextmanager

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from forms_service import access, db
from forms_service.api.export_api import zip_response
from forms_service.auth import login_required
from registry.documents import build, list_packs, render
from forms_service.web.preview import preview_response
from signatures import export
from signatures import workflow as signing
from signatures.subjects import consent_status
from forms_service.web import document_forms as forms
from registry import access as rights
from registry import consents as consent_rules
from registry import packs as packs_module
from registry import services
from registry.errors import DomainError, ValidationError
from registry.models import Case, CaseTable, Consent, Covenant, Declaration, Organisation, Person

bp = Blueprint("documents", __name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# ----------------------------------------------------------------------------- helpers


def download(data: bytes, mimetype: str, filename: str) -> Response:
    """Bytes as a download; ``filename`` is built from ids and fixed words only."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def load(model: type, id_: int):
    """A row by id, or the 404 page."""
    return db.session().get(model, id_) or abort(404)


@contextmanager
def fields_as(mapping: dict[str, str]):
    """Rename the fields of a registry error raised inside to the form's field names."""
    try:
        yield
    except DomainError as exc:
        exc.fields = {mapping.get(key, key): message for key, message in exc.fields.items()}
        raise


def form_fields(form) -> dict:
    """Every leaf field of a form by its HTML name (rows of a FieldList included)."""
    found = {}
    for field in form:
        if hasattr(field, "entries"):
            for entry in field.entries:
                found.update(form_fields(entry.form) if hasattr(entry, "form") else {entry.name: entry})
        elif hasattr(field, "form"):
            found.update(form_fields(field.form))
        else:
            found[field.name] = field
    return found


def show_errors(form, exc: DomainError) -> None:
    """Put a refused save's messages on the fields they name; the rest above the form."""
    db.session().rollback()
    fields = form_fields(form)
    for name, message in exc.fields.items():
        if name in fields:
            fields[name].errors = [*fields[name].errors, message]
        else:
            form.form_errors.append(message)
    if not exc.fields:
        form.form_errors.append(exc.message)


def save(form, work):
    """Run ``work()`` (service calls that flush) and commit once; None on a refusal."""
    try:
        record = work()
    except DomainError as exc:
        show_errors(form, exc)
        return None
    db.session().commit()
    return record


def people_choices() -> list[tuple]:
    """Everyone registered, for chair and coordinator, as 'name (organisation)'."""
    people = db.session().scalars(select(Person).order_by(Person.name)).all()
    return [(None, _("— nog niet gekozen —"))] + [(p.id, f"{p.name} ({p.organisation.name})") for p in people]


def table_choices(permission: str = rights.READ, packs: list[str] | None = None) -> list[tuple]:
    """The case tables the account may ``permission`` at, for the annex forms; with
    ``packs`` only tables of covenants of those packs (the packs with this form)."""
    visible = access.visible_table_ids(permission)
    query = select(CaseTable).order_by(CaseTable.name)
    if visible is not None:
        query = query.where(CaseTable.id.in_(visible))
    if packs is not None:
        query = query.join(CaseTable.covenant).where(Covenant.pack.in_(packs))
    tables = db.session().scalars(query).all()
    return [(None, _("— kies een casustafel —"))] + [(t.id, f"{t.name} ({t.covenant.title})") for t in tables]


def organisation_names() -> list[str]:
    """Known organisations, offered as suggestions while typing."""
    return list(db.session().scalars(select(Organisation.name).order_by(Organisation.name)))


# ----------------------------------------------------------------------------- covenant: save


def save_partner_rows(covenant: Covenant, rows) -> None:
    """Register the organisations and representatives typed and list them as partners."""
    session = db.session()
    for row in rows:
        if row.form.is_blank():
            continue
        prefix = row.name + "-"
        with fields_as({"name": prefix + "organisation"}):
            organisation = services.find_or_create_organisation(session, row.form.organisation.data)
        with fields_as({key: prefix + key for key in ("name", "initials", "function", "email")}):
            person = services.find_or_create_person(
                session, organisation_id=organisation.id, name=row.form.name.data, initials=row.form.initials.data,
                function=row.form.function.data, email=row.form.email.data or None)
        with fields_as({"organisation_id": prefix + "organisation", "representative_id": prefix + "name"}):
            services.add_partner(session, covenant, organisation_id=organisation.id, representative_id=person.id)


def save_table_rows(covenant: Covenant, rows) -> None:
    """Open the tables ticked, or update chair and coordinator of tables already open;
    the services refuse an area that is not the covenant's and a role holder from an
    organisation the pack does not allow."""
    session = db.session()
    existing = {t.area: t for t in covenant.tables}
    for row in rows:
        data, prefix = row.form, row.name + "-"
        roles = {"chair_id": prefix + "chair_id", "coordinator_id": prefix + "coordinator_id", "area": prefix + "enabled"}
        with fields_as(roles):
            if data.area.data in existing:
                services.set_table_roles(session, existing[data.area.data], chair_id=data.chair_id.data, coordinator_id=data.coordinator_id.data)
            elif data.enabled.data:
                services.create_table(session, covenant_id=covenant.id, name=f"Casustafel {data.area.data}", area=data.area.data,
                                      chair_id=data.chair_id.data, coordinator_id=data.coordinator_id.data)


def typed_areas(form: forms.CovenantForm) -> list[str] | None:
    """The areas typed, one per line (blank lines skipped); None when nothing was typed."""
    lines = [line.strip() for line in (form.areas.data or "").splitlines() if line.strip()]
    return lines or None


def save_covenant(form: forms.CovenantForm, covenant: Covenant | None) -> Covenant:
    """Create or update the draft with its partners, then its tables (one transaction).

    Partners first: once a covenant has tables, later partners join by accession.
    """
    values = dict(pack=form.pack.data, title=form.title.data, region=form.region.data,
                  municipality=form.municipality.data or None, areas=typed_areas(form))
    build.pack_named(form.pack.data)
    if covenant is None:
        covenant = services.create_covenant(db.session(), **values)
    else:
        services.update_covenant_draft(db.session(), covenant, **values)
    services.set_chair_model(db.session(), covenant, form.chair_model.data)
    save_partner_rows(covenant, form.partners)
    save_table_rows(covenant, form.tables)
    return covenant


# ----------------------------------------------------------------------------- covenant: form set-up


def chosen_pack(covenant: Covenant | None) -> str:
    """The pack the form shows areas for: as submitted, else the covenant's, else the first."""
    packs = list_packs()
    submitted = request.form.get("pack")
    if submitted in packs:
        return submitted
    if covenant is not None and covenant.pack in packs:
        return covenant.pack
    return packs[0] if packs else ""


def form_areas(covenant: Covenant | None, pack_name: str) -> list[str]:
    """The areas the form shows rows for: as typed, else the covenant's, else the pack's."""
    typed = [line.strip() for line in request.form.get("areas", "").splitlines() if line.strip()] if request.method == "POST" else []
    if typed:
        return list(dict.fromkeys(typed))
    if covenant is not None and covenant.pack == pack_name:
        return services.covenant_areas(covenant)
    return [a.name for a in build.pack_named(pack_name).areas]


def table_rows_data(covenant: Covenant | None, areas: list[str]) -> list[dict]:
    """One row per area of the covenant, prefilled from the covenant's tables."""
    existing = {t.area: t for t in covenant.tables} if covenant else {}
    return [
        {"area": area, "enabled": area in existing,
         "chair_id": existing[area].chair_id if area in existing else None,
         "coordinator_id": existing[area].coordinator_id if area in existing else None}
        for area in areas
    ]


def covenant_form(covenant: Covenant | None) -> forms.CovenantForm:
    """The covenant form: submitted data, or the covenant's values, with choices filled in."""
    pack_name = chosen_pack(covenant)
    areas = form_areas(covenant, pack_name)
    data = {"pack": pack_name, "tables": table_rows_data(covenant, areas), "areas": "\n".join(areas)}
    if covenant is not None:
        data.update(title=covenant.title, region=covenant.region, municipality=covenant.municipality or "",
                    chair_model=covenant.chair_model or "")
    if request.method == "GET" and covenant is None:
        pack = build.pack_named(pack_name)
        data.update(title=pack.title, region=pack.region, municipality=pack.municipality)
    formdata = request.form if request.method == "POST" else None
    form = forms.CovenantForm(formdata=formdata, data=data)
    form.pack.choices = [(p, p) for p in list_packs()]
    form.chair_model.choices = [("", _("— nog niet gekozen —")), *services.chair_model_options(pack_name)]
    people = people_choices()
    for row in form.tables:
        row.form.chair_id.choices = people
        row.form.coordinator_id.choices = people
    return form


def render_covenant_form(form, covenant):
    """The covenant form page."""
    return render_template("documents_web/covenant_form.html", form=form, covenant=covenant,
                           organisations=organisation_names())


# ----------------------------------------------------------------------------- covenant: views


@bp.get("/covenants")
@login_required
def covenants():
    """The covenants this account may see, drafts first."""
    visible = access.visible_covenant_ids()
    query = select(Covenant).order_by(Covenant.in_force_on.is_not(None), Covenant.title)
    if visible is not None:
        query = query.where(Covenant.id.in_(visible))
    rows = db.session().scalars(query).all()
    return render_template("documents_web/covenants.html", covenants=rows)


@bp.route("/covenants/new", methods=["GET", "POST"])
@login_required
def covenant_new():
    """Draft a new covenant (administrators; coordinators get a grant for it afterwards)."""
    access.require(rights.ADMIN)
    form = covenant_form(None)
    if form.validate_on_submit() and (covenant := save(form, lambda: save_covenant(form, None))):
        flash(_("Het concept-convenant is opgeslagen."))
        return redirect(url_for("documents.covenant", covenant_id=covenant.id))
    return render_covenant_form(form, None)


@bp.route("/covenants/<int:covenant_id>/edit", methods=["GET", "POST"])
@login_required
def covenant_edit(covenant_id: int):
    """Edit a draft: title, region, pack; add partners; open tables, name chair and coordinator."""
    covenant = load(Covenant, covenant_id)
    access.require(rights.MANAGE_COVENANT, rights.covenant_target(db.session(), covenant.id))
    if covenant.status != "draft":
        flash(_("Dit convenant is al in werking; alleen een concept kan worden bewerkt."))
        return redirect(url_for("documents.covenant", covenant_id=covenant.id))
    form = covenant_form(covenant)
    if form.validate_on_submit() and save(form, lambda: save_covenant(form, covenant)):
        flash(_("Het concept-convenant is bijgewerkt."))
        return redirect(url_for("documents.covenant", covenant_id=covenant.id))
    return render_covenant_form(form, covenant)


@bp.get("/covenants/<int:covenant_id>")
@login_required
def covenant(covenant_id: int):
    """A covenant: partners, tables, preview and downloads."""
    page = covenant_page(load(Covenant, covenant_id))
    db.session().commit()  # the logged read of the signers
    return page


def covenant_page(covenant: Covenant, life_errors: dict | None = None, status: int = 200, *,
                  evaluation_form=None):
    """The covenant page: partners, tables, downloads, its signing with every action
    (send, remind, cancel, paper), its life (accession, endings, amendments, history:
    :func:`forms_service.web.covenant_life.covenant_context`) and the annual evaluations;
    also shown again after a refused form with its messages (``life_errors``,
    ``evaluation_form``). The read of the signers is logged in the session: the view
    commits (its one commit point)."""
    from forms_service.web import records
    from forms_service.web.covenant_life import covenant_context

    session = db.session()
    target = rights.covenant_target(session, covenant.id)
    access.require(rights.READ, target)
    may_send = access.may(rights.SIGNING, target)
    signing_state = signing.signing_state(session, "covenant", covenant.id)
    if may_send and signing_state.requests:  # the signers' names and e-mail addresses are shown
        access.log_read(access.require(rights.SIGNING, target), "view", "signing_requests", None,
                        {"covenant_id": covenant.id}, target)
    # "Download PDF" is the sealed covenant once there is one, for those who may have it
    # (it holds the signers' data: the signing right, like its own download).
    sealed = signing_state.finished and access.may(rights.signing_permission("covenant", target, "copy"), target)
    page = render_template("documents_web/covenant.html", covenant=covenant, sealed=sealed,
                           may_export=export.may_export(session, access.acting_user(), target),
                           signing=signing_state, may_send=may_send, life_errors=life_errors or {},
                           **covenant_context(covenant), **records.evaluation_context(covenant, evaluation_form))
    return page, status


@bp.get("/covenants/<int:covenant_id>/ondertekend.zip")
@login_required
def covenant_signed_zip(covenant_id: int):
    """Every sealed PDF of the covenant and its tables this account may download, as one ZIP."""
    covenant = load(Covenant, covenant_id)
    return zip_response(export.plan_covenant_export(db.session(), access.acting_user(), covenant))


@bp.get("/covenants/<int:covenant_id>/preview")
@login_required
def covenant_preview(covenant_id: int):
    """The covenant as the renderer's HTML (shown in an iframe on the covenant page)."""
    covenant = load(Covenant, covenant_id)
    access.require(rights.READ, rights.covenant_target(db.session(), covenant.id))
    pack = build.pack_named(covenant.pack)
    return preview_response(render.render_html(pack, "covenant", build.covenant_doc(db.session(), covenant)), pack)


@bp.get("/covenants/<int:covenant_id>/convenant.pdf")
@login_required
def covenant_pdf(covenant_id: int):
    """The covenant as PDF."""
    covenant = load(Covenant, covenant_id)
    access.require(rights.READ, rights.covenant_target(db.session(), covenant_id))
    if "on" in request.args:  # the text as it held on a date (an amendment, art. 13, holds from its in_force_on)
        from forms_service.web import requested_date

        on, _problem = requested_date()
        pdf, version = build.covenant_pdf_on(db.session(), covenant, on)
        db.session().commit()  # a first render is stored in the document cache
        return download(pdf, PDF, f"convenant-{covenant_id}-versie-{version}.pdf")
    pdf = build.subject_pdf(db.session(), "covenant", covenant_id)
    db.session().commit()  # a first render is stored in the document cache
    return download(pdf, PDF, f"convenant-{covenant_id}.pdf")


@bp.get("/covenants/<int:covenant_id>/convenant.docx")
@login_required
def covenant_docx(covenant_id: int):
    """The covenant as editable DOCX."""
    covenant = load(Covenant, covenant_id)
    access.require(rights.READ, rights.covenant_target(db.session(), covenant.id))
    docx = build.covenant_docx(db.session(), covenant)
    db.session().commit()  # a first render is stored in the document cache
    return download(docx, DOCX, f"convenant-{covenant_id}.docx")


# ----------------------------------------------------------------------------- forms overview and blank forms


@bp.get("/forms")
@login_required
def forms_overview():
    """The annex forms: fill in online, or print blank for signing on paper; the recent
    declarations and consents of the tables this account may see."""
    session = db.session()
    declarations = select(Declaration).order_by(Declaration.id.desc()).limit(20)
    consents = (select(Consent).join(Consent.case).where(Case.retention_stage == "active")  # archived/erased: closed
                .order_by(Consent.id.desc()).limit(20))
    readable, resident = access.visible_table_ids(), access.visible_table_ids(rights.RESIDENT_DATA)
    if readable is not None:
        declarations = declarations.where(Declaration.table_id.in_(readable))
    if resident is not None:
        consents = consents.where(Case.table_id.in_(resident))
    declarations, consents = session.scalars(declarations).all(), session.scalars(consents).all()
    blank = [(pack, build.form_annexes(pack)) for pack in list_packs()]
    fill_in = {}
    for _pack, annexes in blank:
        for annex in annexes:
            fill_in.setdefault(annex.key, annex)
    return render_template("documents_web/forms.html", blank=blank, fill_in=list(fill_in.values()),
                           heading=build.annex_heading, declarations=declarations, consents=consents,
                           declaration_annex=build.declaration_annex, consent_annex=build.consent_annex)


@bp.get("/forms/<pack>/<form>.pdf")
@login_required
def blank_form(pack: str, form: str):
    """A blank form annex of a pack by its key, as PDF to print."""
    if pack not in list_packs() or form not in {a.key for a in build.form_annexes(pack)}:
        abort(404)
    pdf = build.blank_form_pdf(db.session(), pack, form)
    db.session().commit()  # a first render is stored in the document cache
    return download(pdf, PDF, f"{pack}-{form}-blanco.pdf")


@bp.route("/forms/<key>", methods=["GET", "POST"])
@login_required
def annex_form(key: str):
    """A form annex by its key (``bijlage1``, ``bijlage2``, ``bijlage4``, ``bijlage5``):
    a declaration or the consent, as the packs that have this key define it."""
    found = build.annexes_with_key(key)
    if not found:
        abort(404)
    kind = found[0][1].kind
    packs = [name for name, annex in found if annex.kind == kind]
    heading = build.annex_heading(found[0][1])
    if kind == "structural_declaration":
        return declaration_form_view(forms.DeclarationForm, "structural", heading, packs)
    if kind == "incidental_declaration":
        return declaration_form_view(forms.IncidentalDeclarationForm, "incidental", heading, packs)
    return consent_form_view(heading, packs)


# ----------------------------------------------------------------------------- Bijlage 1 and 2


def save_declaration(form: forms.DeclarationForm, kind: str) -> Declaration:
    """Register (or find) the organisation and person, then record the declaration."""
    session = db.session()
    with fields_as({"name": "organisation"}):
        organisation = services.find_or_create_organisation(session, form.organisation.data)
    person = services.find_or_create_person(
        session, organisation_id=organisation.id, name=form.name.data, initials=form.initials.data,
        function=form.function.data, email=form.email.data or None)
    with fields_as({"person_id": "name"}):
        declaration = services.create_declaration(
            session, kind=kind, person_id=person.id, table_id=form.table_id.data,
            case_ref=getattr(form, "case_ref", None) and form.case_ref.data, signed_on=form.signed_on.data)
    permission = rights.SEND_BIJLAGE1 if kind == "structural" else rights.MANAGE_DECLARATIONS
    access.require(permission, rights.declaration_target(session, declaration))
    return declaration


def declaration_form_view(form_class, kind: str, template_title: str, packs: list[str] | None = None):
    """GET shows the form; POST saves it in one transaction and opens the new record.

    A partner contact may fill in a Bijlage 1 for its own employees only: the saved
    declaration is checked against the account's grants before the commit.
    """
    permission = rights.SEND_BIJLAGE1 if kind == "structural" else rights.MANAGE_DECLARATIONS
    access.require_role_for(permission)
    form = form_class()
    form.table_id.choices = table_choices(rights.READ if kind == "structural" else rights.MANAGE_DECLARATIONS, packs)
    if form.validate_on_submit() and (declaration := save(form, lambda: save_declaration(form, kind))):
        flash(_("De verklaring is opgeslagen."))
        return redirect(url_for("documents.declaration", declaration_id=declaration.id))
    return render_template("documents_web/declaration_form.html", form=form, title=template_title,
                           incidental=kind == "incidental", organisations=organisation_names())


@bp.get("/declarations/<int:declaration_id>")
@login_required
def declaration(declaration_id: int):
    """A recorded declaration with its PDF and the state of its signing (signers' e-mail: logged)."""
    declaration = load(Declaration, declaration_id)
    page = declaration_page(declaration)
    db.session().commit()
    return page


def declaration_page(declaration: Declaration, errors: list[str] | None = None, status: int = 200):
    """A declaration's page (its signers' e-mail: logged), with its history and the
    revocation form; ``errors`` of a refused revocation."""
    from registry import covenant_life

    session = db.session()
    target = rights.declaration_target(session, declaration)
    access.require_and_log(rights.READ, target, "view", "declaration", declaration.id)
    state = signing.signing_state(session, "declaration", declaration.id)
    return render_template("documents_web/declaration.html", declaration=declaration,
                           title=build.annex_heading(build.declaration_annex(declaration)), signing=state,
                           declined=signing.declined(session, "declaration", declaration.id),
                           history=covenant_life.history(session, declaration_id=declaration.id),
                           may_revoke=access.may(rights.MANAGE_DECLARATIONS, target), revoke_errors=errors or [],
                           may_send=access.may(rights.signing_permission("declaration", target, "send"), target),
                           ), status


@bp.get("/declarations/<int:declaration_id>/verklaring.pdf")
@login_required
def declaration_pdf(declaration_id: int):
    """A declaration as PDF."""
    access.require(rights.READ, rights.declaration_target(db.session(), load(Declaration, declaration_id)))
    pdf = build.subject_pdf(db.session(), "declaration", declaration_id)
    db.session().commit()  # a first render is stored in the document cache
    return download(pdf, PDF, f"verklaring-{declaration_id}.pdf")


# ----------------------------------------------------------------------------- Bijlage 4


def consent_pack(form: forms.ConsentForm, packs: list[str] | None = None):
    """The pack of the chosen table's covenant (its categories are on the form), else the
    first table's, else the first pack with this form."""
    table = db.session().get(CaseTable, form.table_id.data) if form.table_id.data else None
    if table is None:
        query = select(CaseTable).order_by(CaseTable.name).limit(1)
        if packs is not None:
            query = query.join(CaseTable.covenant).where(Covenant.pack.in_(packs))
        table = db.session().scalar(query)
    return build.pack_named(table.covenant.pack if table else (packs or list_packs())[0]), table


def recipient_choices() -> list[tuple]:
    """Registry organisations by id (a consent names organisations by id, never by label)."""
    return [(o.id, o.name) for o in db.session().scalars(select(Organisation).order_by(Organisation.name))]


def consent_form(packs: list[str] | None = None):
    """The consent form with tables, categories, recipients and the pack's fixed lines as
    choices; its pack and (when chosen) table."""
    access.require_role_for(rights.MANAGE_CONSENTS)
    form = forms.ConsentForm()
    form.table_id.choices = table_choices(rights.MANAGE_CONSENTS, packs)
    pack, table = consent_pack(form, packs)
    form.categories.choices = [(c.key, c.label) for c in pack.consent_categories]
    form.recipients.choices = recipient_choices()
    form.fixed_recipients.choices = [(n, n) for line in build.viewmodels.pack_recipient_lines(pack, fixed_only=True)
                                     for n in line.names()]
    return form, pack, table


def save_consent(form: forms.ConsentForm):
    """Record the consent; the service checks categories and who signs against the table's pack."""
    table = services.get(db.session(), CaseTable, form.table_id.data, "table_id")
    access.require(rights.MANAGE_CONSENTS, rights.table_target(db.session(), table))
    others = list(form.fixed_recipients.data or [])
    others += [name.strip() for name in (form.other_recipients.data or "").split(",") if name.strip()]
    return services.create_consent(
        db.session(), table_id=table.id, case_ref=form.case_ref.data, signed_by=form.signed_by.data,
        resident_name=form.resident_name.data, resident_birth_date=form.resident_birth_date.data,
        purpose=form.purpose.data, categories=form.categories.data, recipient_ids=form.recipients.data,
        other_recipients=others, contact_person=form.contact_person.data, signed_on=form.signed_on.data)


def consent_form_view(heading: str, packs: list[str]):
    """The consent form (Bijlage 4, Bijlage 5, …): the resident's consent to share data."""
    form, pack, table = consent_form(packs)
    # A table sharing under another legal basis (art. 458ter Sw.) has no consent: the
    # registry's reason on the table field, 422.
    refusal = consent_rules.no_consent_reason(packs_module.cached_pack(table.covenant.pack)) \
        if form.is_submitted() and table is not None else None
    if refusal is None and form.validate_on_submit() and (consent := save(form, lambda: save_consent(form))):
        flash(_("Het toestemmingsformulier is opgeslagen."))
        return redirect(url_for("documents.consent", consent_id=consent.id))
    if refusal is not None:
        form.validate()
        form.table_id.errors = [refusal]
    partners = [p.organisation.name for p in table.covenant.partnerships] if table else []
    page = render_template("documents_web/consent_form.html", form=form, pack=pack, title=heading,
                           on_form=partners + [c for _, c in form.fixed_recipients.choices])
    return (page, 422) if refusal is not None else page


@bp.get("/consents/<int:consent_id>")
@login_required
def consent(consent_id: int):
    """A recorded consent with its PDF and the state of its signing (resident data: logged)."""
    consent = load(Consent, consent_id)
    access.require_and_log(rights.RESIDENT_DATA, rights.consent_target(db.session(), consent), "view",
                           "consent", consent_id)
    page = render_template("documents_web/consent.html", consent=consent,
                           title=build.annex_heading(build.consent_annex(consent)),
                           status=consent_status(db.session(), consent),
                           declined=signing.declined(db.session(), "consent", consent_id),
                           may_withdraw=access.may(rights.WITHDRAW_CONSENT, rights.consent_target(db.session(), consent)),
                           required_signers=services.consent_required_signers(consent),
                           signing=signing.signing_state(db.session(), "consent", consent_id),
                           may_send=access.may(rights.MANAGE_CONSENTS, rights.consent_target(db.session(), consent)))
    db.session().commit()
    return page


@bp.get("/consents/<int:consent_id>/toestemming.pdf")
@login_required
def consent_pdf(consent_id: int):
    """A consent as PDF (resident data: logged as a print)."""
    access.require_and_log(rights.RESIDENT_DATA, rights.consent_target(db.session(), load(Consent, consent_id)),
                           "print", "consent", consent_id)
    response = download(build.subject_document(db.session(), "consent", consent_id).pdf, PDF, f"toestemming-{consent_id}.pdf")
    db.session().commit()
    return response

