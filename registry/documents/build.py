"""From registry rows to documents: view-models built from the database, then rendered.

This is the only place that turns ORM objects into the plain view-models of
:mod:`registry.documents.viewmodels`; the renderer never sees a live ORM object, so
the same data always gives the same bytes. Signing (the document a signer sees), the
web forms and the API all get their documents from here.
"""

from __future__ import annotations

from pathlib import Path
import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from registry import packs as packs_module
from registry.documents import cache, render, viewmodels
from registry.errors import NotFound, ValidationError
from registry.models import CaseTable, Consent, Covenant, CovenantAmendment, Declaration, Partnership, Person
from registry.texts import _



def pack_named(name: str) -> packs_module.Pack:
    """The template pack, or a 422 naming ``pack`` when it does not exist. Read once
    per manifest version (:func:`registry.packs.cached_pack`: one ``stat`` instead of a
    TOML parse, which a cached download would otherwise spend most of its time on)."""
    pack = packs_module.cached_pack(name)
    if pack is not None:
        return pack
    try:
        return packs_module.load_pack(name)
    except packs_module.PackError as exc:
        raise ValidationError(_("Onbekend sjabloonpakket."), {"pack": _("Sjabloonpakket '%(name)s' bestaat niet.", name=name)}) from exc


def covenant_doc(session: Session, covenant: Covenant, text_version: int | None = None) -> viewmodels.CovenantDoc:
    """The covenant with its partners (and their signatures) and its tables, in its
    current version (``Covenant.version``, raised by each amendment in force)."""
    pack = pack_named(covenant.pack)
    # The names come with the rows (joined loads), not one query per partner and table:
    # a cached download still builds this view-model to find its key.
    partnerships = session.scalars(
        select(Partnership).where(Partnership.covenant_id == covenant.id).order_by(Partnership.id)
        .options(joinedload(Partnership.organisation), joinedload(Partnership.representative))
    ).all()
    parties = tuple(
        viewmodels.Party(p.organisation.name, p.representative.name if p.representative else "", p.signed_on,
                         mandate=p.mandate or "")
        for p in partnerships
    )
    short_names = {area.name: area.short_name for area in pack.areas}
    tables = session.scalars(select(CaseTable).where(CaseTable.covenant_id == covenant.id).order_by(CaseTable.area)
                             .options(joinedload(CaseTable.chair), joinedload(CaseTable.coordinator))).all()
    table_vms = tuple(
        viewmodels.CaseTable(
            t.area, short_names.get(t.area, t.area),
            t.chair.name if t.chair else "", t.coordinator.name if t.coordinator else "",
        )
        for t in tables
    )
    base = viewmodels.covenant_from_pack(pack, parties=parties, in_force_on=covenant.in_force_on, tables=table_vms or None)
    return viewmodels.CovenantDoc(
        title=_title_without_region(covenant.title, covenant.region) or base.title,
        region=covenant.region or base.region, municipality=covenant_municipality(covenant, pack),
        pack=pack.name, version=pack.version, parties=base.parties, tables=base.tables,
        table_role_organisations=base.table_role_organisations, in_force_on=covenant.in_force_on,
        chair_model=covenant.chair_model or "",
        areas=covenant_area_vms(covenant, pack), consent_recipients=recipient_lines(covenant, pack),
        text_version=text_version or covenant.version or 1, amendment_summary=_current_summary(session, covenant, text_version),
    )


def _current_summary(session: Session, covenant: Covenant, text_version: int | None) -> str:
    """The summary of the amendment that made the covenant's current version ("" for version 1)."""
    version = text_version or covenant.version or 1
    if version <= 1:
        return ""
    return session.scalar(select(CovenantAmendment.summary).where(
        CovenantAmendment.covenant_id == covenant.id, CovenantAmendment.version == version)) or ""


def public_covenant_doc(session: Session, covenant: Covenant, on) -> viewmodels.CovenantDoc:
    """The covenant as its partners publish it (art. 10): the text with the partners of
    ``on`` (:func:`registry.queries.partner_statuses`; an ended or excluded partner is
    gone) and their signed representatives, and the tables per area without a chair's
    or coordinator's name — no other person is named. A mandate text is left out (it
    may name the person who gave it)."""
    from registry import queries

    doc = covenant_doc(session, covenant)
    parties = tuple(
        viewmodels.Party(name, p.representative.name if p.representative else "", p.signed_on, mandate="")
        for p, name, status in queries.partner_statuses(session, covenant, on) if status.current
    )
    short_names = {area.name: area.short_name for area in pack_named(covenant.pack).areas}
    tables = tuple(viewmodels.CaseTable(t.area, short_names.get(t.area, t.area))
                   for t in sorted(covenant.tables, key=lambda t: t.area))
    return dataclasses.replace(doc, parties=parties, tables=tables or doc.tables)


def covenant_municipality(covenant: Covenant, pack: packs_module.Pack) -> str:
    """The covenant's municipality; a covenant drafted before it had one: the default."""
    return covenant.municipality or packs_module.default_municipality(pack, covenant.region)


def covenant_area_vms(covenant: Covenant, pack: packs_module.Pack) -> tuple[viewmodels.Area, ...]:
    """The covenant's areas, with the pack's short name where the pack knows the area."""
    short_names = {area.name: area.short_name for area in pack.areas}
    from registry.services import covenant_areas
    return tuple(viewmodels.Area(name, short_names.get(name, name)) for name in covenant_areas(covenant))


def recipient_lines(covenant: Covenant, pack: packs_module.Pack) -> tuple[viewmodels.RecipientLine, ...]:
    """The recipient lines of the covenant's consent form: its partners (in the order
    listed) plus the pack's fixed lines ("Mijn huisarts"); a covenant without partners
    yet: the pack's default lines."""
    partners = [p.organisation.name for p in covenant.partnerships]
    if not partners:
        return viewmodels.pack_recipient_lines(pack)
    notes = {r.label: r.note for r in pack.consent_recipients if not r.choices and not r.fixed}
    lines = [viewmodels.RecipientLine(name, (), notes.get(name, "")) for name in dict.fromkeys(partners)]
    return tuple(lines) + viewmodels.pack_recipient_lines(pack, fixed_only=True)


def _title_without_region(title: str, region: str) -> str:
    """The covenant's title without a trailing region: the templates print "title region",
    and a registry title usually already ends with the region."""
    title, region = (title or "").strip(), (region or "").strip()
    if region and title.casefold().endswith(" " + region.casefold()):
        return title[: -len(region)].rstrip()
    return title


def declaration_doc(declaration: Declaration) -> viewmodels.DeclarationDoc:
    """A Bijlage 1 or 2 as filled in for its person and table."""
    person: Person = declaration.person
    covenant = declaration.table.covenant
    initials = f"{person.initials} " if person.initials and not person.name.startswith(person.initials) else ""
    return viewmodels.DeclarationDoc(
        kind=declaration.kind,
        table_name=declaration.table.name,
        person_name=f"{initials}{person.name}".strip(),
        organisation=person.organisation.name,
        function=person.function or "",
        case_ref=declaration.case_ref or "",
        signed_on=declaration.signed_on,
        covenant_title=_title_without_region(covenant.title, covenant.region),
        region=covenant.region,
    )


def consent_doc(consent: Consent) -> viewmodels.ConsentDoc:
    """A Bijlage 4 as filled in for its covenant: the covenant's partners and the pack's
    fixed lines are on the form; a recipient is ticked by organisation id (a partner) or
    by the exact text of a fixed line; anything else goes under 'Anders'."""
    covenant = consent.case.table.covenant
    pack = pack_named(covenant.pack)
    lines = recipient_lines(covenant, pack)
    partner_ids = {p.organisation_id: p.organisation.name for p in covenant.partnerships}
    fixed = {name.casefold(): name for line in viewmodels.pack_recipient_lines(pack, fixed_only=True)
             for name in line.names()}
    on_form = {name for line in lines for name in line.names()}
    ticked, others = [], []
    for organisation in consent.recipients:
        name = partner_ids.get(organisation.id)
        (ticked.append(name) if name in on_form else others.append(organisation.name))
    for other in consent.other_recipients or []:
        name = fixed.get(other.strip().casefold())
        (ticked.append(name) if name in on_form else others.append(other))
    return viewmodels.ConsentDoc(
        resident_name=consent.resident_name,
        resident_birth_date=consent.resident_birth_date,
        signed_by=consent.signed_by,
        purpose=consent.purpose or "",
        categories=tuple(c for c in pack.category_keys() if c in (consent.categories or [])),
        recipients=tuple(dict.fromkeys(ticked)),
        other_recipients=", ".join(others),
        case_ref=consent.case.reference,
        table_name=consent.case.table.name,
        signed_on=consent.signed_on,
        contact_person=consent.contact_person or "",
        covenant_title=_title_without_region(covenant.title, covenant.region),
        region=covenant.region,
        municipality=covenant_municipality(covenant, pack),
        recipient_lines=lines,
    )


def _load(session: Session, model: type, id_: int, label: str):
    """A row by id, or a 404 naming ``id``."""
    row = session.get(model, id_)
    if row is None:
        raise NotFound(_('%(label)s %(id)s bestaat niet.', label=label, id=id_), {"id": _("Bestaat niet.")})
    return row


def _covenant_subject(session: Session, subject_id: int) -> tuple[str, str, object]:
    covenant = _load(session, Covenant, subject_id, "Convenant")
    return covenant.pack, "covenant", lambda: covenant_doc(session, covenant)


def _declaration_subject(session: Session, subject_id: int) -> tuple[str, str, object]:
    declaration = _load(session, Declaration, subject_id, "Verklaring")
    kind = "declaration_structural" if declaration.kind == "structural" else "declaration_incidental"
    return declaration.table.covenant.pack, kind, lambda: declaration_doc(declaration)


def _consent_subject(session: Session, subject_id: int) -> tuple[str, str, object]:
    consent = _load(session, Consent, subject_id, "Toestemming")
    return consent.case.table.covenant.pack, "consent", lambda: consent_doc(consent)


def _amendment_subject(session: Session, subject_id: int) -> tuple[str, str, object]:
    amendment = _load(session, CovenantAmendment, subject_id, "Wijziging")
    return amendment.covenant.pack, "covenant", lambda: amendment_doc(session, amendment)


SUBJECT_DOCUMENTS = {"covenant": _covenant_subject, "declaration": _declaration_subject,
                     "consent": _consent_subject, "amendment": _amendment_subject}
"""Each signable kind → ``(pack name, template kind, view-model thunk)`` of its document."""


def _subject(session: Session, subject_kind: str, subject_id: int):
    if subject_kind not in SUBJECT_DOCUMENTS:
        raise ValidationError(_("Onbekende soort document."), {"subject_kind": _("'%(subject_kind)s' is geen document.", subject_kind=subject_kind)})
    return SUBJECT_DOCUMENTS[subject_kind](session, subject_id)


def pack_of_subject(session: Session, subject_kind: str, subject_id: int) -> str:
    """The template pack name of a covenant, declaration, consent or amendment (via its covenant)."""
    return _subject(session, subject_kind, subject_id)[0]


def subject_document(session: Session, subject_kind: str, subject_id: int, variant: str | None = render.DEFAULT_PDF_VARIANT) -> render.RenderedDocument:
    """The document of a covenant, declaration, consent or amendment as its signer sees it (HTML + PDF)."""
    pack_name, template, view = _subject(session, subject_kind, subject_id)
    return render.render_pdf(pack_named(pack_name), template, view(), variant=variant)


SIGNED_BODY_KINDS = frozenset({"covenant", "amendment"})
"""Documents whose body has a signature table (*ondertekening*) that the sealed copy fills in."""


def signed_body(session: Session, subject_kind: str, subject_id: int, first_signature_page: int,
                variant: str | None = render.DEFAULT_PDF_VARIANT) -> bytes | None:
    """The body of a sealed covenant or amendment: the same text from the same template,
    with each partner's representative and signing date in its signature table and, in
    the signature cell, a pointer to the signature pages that follow the text (from
    ``first_signature_page``). None for a document without a signature table."""
    if subject_kind not in SIGNED_BODY_KINDS:
        return None
    pack_name, template, view = _subject(session, subject_kind, subject_id)
    doc = dataclasses.replace(view(), signature_pages=(
        f"Ondertekend; zie de ondertekeningspagina's vanaf pagina {first_signature_page}."))
    return render.render_pdf(pack_named(pack_name), template, doc, variant=variant).pdf


def amendment_doc(session: Session, amendment: CovenantAmendment) -> viewmodels.CovenantDoc:
    """An amendment (art. 13): the covenant's text as it is now, with the new version
    number and its summary, and as parties the partners asked to sign it (with the date
    each signed the amendment)."""
    doc = covenant_doc(session, amendment.covenant)
    parties = tuple(
        viewmodels.Party(a.organisation.name, a.representative.name if a.representative else "", a.signed_on,
                         mandate="") for a in amendment.approvals)
    return dataclasses.replace(doc, parties=parties, text_version=amendment.version,
                               amendment_summary=amendment.summary, in_force_on=amendment.in_force_on)


def covenant_doc_on(session: Session, covenant: Covenant, on) -> viewmodels.CovenantDoc:
    """The covenant's text as it held on ``on``: the newest amendment in force by then
    (:func:`registry.amendments.version_on`), else the text as first signed."""
    from registry import amendments

    amendment = amendments.version_on(session, covenant, on)
    return amendment_doc(session, amendment) if amendment is not None else covenant_doc(session, covenant, text_version=1)


def covenant_pdf_on(session: Session, covenant: Covenant, on,
                    variant: str | None = render.DEFAULT_PDF_VARIANT) -> tuple[bytes, int]:
    """The PDF of the covenant's text as it held on ``on`` (:func:`covenant_doc_on`) and
    its text version, through the document cache like the current version (the version,
    its summary and its signers are in the view-model, so another version never shares
    a row). The caller commits."""
    doc = covenant_doc_on(session, covenant, on)
    return cache.rendered_pdf(session, pack_named(covenant.pack), "covenant", doc, variant), doc.text_version


def subject_pdf(session: Session, subject_kind: str, subject_id: int,
                variant: str | None = render.DEFAULT_PDF_VARIANT) -> bytes:
    """The PDF of a covenant or declaration (Bijlage 1/2), rendered once per exact input
    and then served from :mod:`registry.documents.cache` (the row is added to the
    session's transaction: the caller commits). A consent (Bijlage 4) carries a
    resident's data and is rendered every time, never stored."""
    if subject_kind == "covenant":
        covenant = _load(session, Covenant, subject_id, "Convenant")
        return cache.rendered_pdf(session, pack_named(covenant.pack), "covenant", covenant_doc(session, covenant), variant)
    if subject_kind == "declaration":
        declaration = _load(session, Declaration, subject_id, "Verklaring")
        kind = "declaration_structural" if declaration.kind == "structural" else "declaration_incidental"
        return cache.rendered_pdf(session, pack_named(declaration.table.covenant.pack), kind,
                                  declaration_doc(declaration), variant)
    return subject_document(session, subject_kind, subject_id, variant).pdf


def covenant_docx(session: Session, covenant: Covenant) -> bytes:
    """The covenant as an editable DOCX for legal review (cached like :func:`subject_pdf`)."""
    return cache.rendered_docx(session, pack_named(covenant.pack), "covenant_docx", covenant_doc(session, covenant))


DECLARATION_ANNEX_KINDS = {"structural": "structural_declaration", "incidental": "incidental_declaration"}


def _pack_or_none(name: str) -> packs_module.Pack | None:
    try:
        return packs_module.load_pack(name)
    except packs_module.PackError:
        return None


def declaration_annex(declaration: Declaration) -> packs_module.Annex:
    """The annex (number, title, key) a Bijlage 1/2 is in its covenant's pack."""
    return packs_module.annex_of_kind(_pack_or_none(declaration.table.covenant.pack),
                                      DECLARATION_ANNEX_KINDS[declaration.kind])


def consent_annex(consent: Consent) -> packs_module.Annex:
    """The consent form's annex in its covenant's pack (Emmen: Bijlage 4; onderwijs-jeugdhulp: Bijlage 5)."""
    return packs_module.annex_of_kind(_pack_or_none(consent.case.table.covenant.pack), "consent")


def annex_numbers(table: CaseTable) -> dict[str, str]:
    """How the table's pack numbers its forms: ``{"structural": "Bijlage 1",
    "incidental": "Bijlage 2", "consent": "Bijlage 4"}`` (onderwijs-jeugdhulp: Bijlage 5)."""
    pack = _pack_or_none(table.covenant.pack)
    return {short: packs_module.annex_of_kind(pack, kind).number
            for short, kind in (*DECLARATION_ANNEX_KINDS.items(), ("consent", "consent"))}


def annex_heading(annex: packs_module.Annex) -> str:
    """"Bijlage 5 — Toestemmingsformulier": how pages, signing titles and mails name it."""
    return packs_module.annex_heading(annex)


def annexes_with_key(key: str) -> list[tuple[str, packs_module.Annex]]:
    """Every pack (name, annex) whose form annex has this key, in pack order."""
    found = []
    for name in packs_module.list_packs():
        pack = _pack_or_none(name)
        annex = packs_module.form_annex(pack, key) if pack else None
        if annex is not None:
            found.append((name, annex))
    return found


def form_annexes(pack_name: str) -> tuple[packs_module.Annex, ...]:
    """The form annexes (declarations, consent) of a pack, in covenant order."""
    return packs_module.form_annexes(pack_named(pack_name))


def _blank_form(pack_name: str, form: str):
    """(pack, template, empty view-model) of a pack's form annex; 404 naming ``form``."""
    pack = pack_named(pack_name)
    annex = packs_module.form_annex(pack, form)
    if annex is None:
        keys = ", ".join(a.key for a in packs_module.form_annexes(pack))
        raise NotFound(_("Onbekend formulier."), {"form": _('Kies een van de formulieren van dit pakket: %(keys)s.', keys=keys)})
    kind = packs_module.FORM_KINDS[annex.kind]
    vm = viewmodels.ConsentDoc() if kind == "consent" else viewmodels.DeclarationDoc(kind=kind.removeprefix("declaration_"))
    return pack, packs_module.annex_document(pack, annex), vm


def blank_form(pack_name: str, form: str) -> render.RenderedDocument:
    """An empty form annex of a pack by its key (``bijlage1``, ``bijlage5``), for signing
    on paper; an unknown key is a 404 naming ``form``."""
    pack, template, vm = _blank_form(pack_name, form)
    return render.render_pdf(pack, template, vm)


def blank_form_pdf(session: Session, pack_name: str, form: str) -> bytes:
    """:func:`blank_form`'s PDF, rendered once per pack version (an empty form holds no
    personal data, so the consent form is cached too)."""
    pack, template, vm = _blank_form(pack_name, form)
    return cache.rendered_pdf(session, pack, template, vm, render.DEFAULT_PDF_VARIANT)


SYSTEM_DOCUMENTS = Path(__file__).resolve().parent / "system"
"""The service's own documents (not of any covenant): a pack-like folder, so the renderer
confines reads to it as to a covenant's pack; it is outside TEMPLATE_PACKS_DIR and never
offered as a pack."""


def system_pack() -> packs_module.Pack:
    """The pack-like folder of the service's own documents (the access export)."""
    return packs_module.load_pack(SYSTEM_DOCUMENTS.name, SYSTEM_DOCUMENTS.parent)


def subject_export_pdf(export) -> render.RenderedDocument:
    """A resident's access export (:class:`registry.subject_requests.Export`) as PDF/A-3b."""
    return render.render_pdf(system_pack(), "subject_export", export)
