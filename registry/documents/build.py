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
from sqlalchemy.orm import Session

from registry import packs as packs_module
from registry.documents import render, viewmodels
from registry.errors import NotFound, ValidationError
from registry.models import CaseTable, Consent, Covenant, Declaration, Partnership, Person
from registry.texts import _



def pack_named(name: str) -> packs_module.Pack:
    """The template pack, or a 422 naming ``pack`` when it does not exist."""
    try:
        return packs_module.load_pack(name)
    except packs_module.PackError as exc:
        raise ValidationError(_("Onbekend sjabloonpakket."), {"pack": _("Sjabloonpakket '%(name)s' bestaat niet.", name=name)}) from exc


def covenant_doc(session: Session, covenant: Covenant) -> viewmodels.CovenantDoc:
    """The covenant with its partners (and their signatures) and its tables."""
    pack = pack_named(covenant.pack)
    partnerships = session.scalars(
        select(Partnership).where(Partnership.covenant_id == covenant.id).order_by(Partnership.id)
    ).all()
    parties = tuple(
        viewmodels.Party(p.organisation.name, p.representative.name if p.representative else "", p.signed_on,
                         mandate=p.mandate or "")
        for p in partnerships
    )
    short_names = {area.name: area.short_name for area in pack.areas}
    tables = session.scalars(select(CaseTable).where(CaseTable.covenant_id == covenant.id).order_by(CaseTable.area)).all()
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
    )


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


def pack_of_subject(session: Session, subject_kind: str, subject_id: int) -> str:
    """The template pack name of a covenant, declaration or consent (via its covenant)."""
    if subject_kind == "covenant":
        return _load(session, Covenant, subject_id, "Convenant").pack
    if subject_kind == "declaration":
        return _load(session, Declaration, subject_id, "Verklaring").table.covenant.pack
    if subject_kind == "consent":
        return _load(session, Consent, subject_id, "Toestemming").case.table.covenant.pack
    raise ValidationError(_("Onbekende soort document."), {"subject_kind": _("'%(subject_kind)s' is geen document.", subject_kind=subject_kind)})


def subject_document(session: Session, subject_kind: str, subject_id: int, variant: str | None = render.DEFAULT_PDF_VARIANT) -> render.RenderedDocument:
    """The document of a covenant, declaration or consent as its signer sees it (HTML + PDF)."""
    if subject_kind == "covenant":
        covenant = _load(session, Covenant, subject_id, "Convenant")
        return render.render_pdf(pack_named(covenant.pack), "covenant", covenant_doc(session, covenant), variant=variant)
    if subject_kind == "declaration":
        declaration = _load(session, Declaration, subject_id, "Verklaring")
        kind = "declaration_structural" if declaration.kind == "structural" else "declaration_incidental"
        return render.render_pdf(pack_named(declaration.table.covenant.pack), kind, declaration_doc(declaration), variant=variant)
    if subject_kind == "consent":
        consent = _load(session, Consent, subject_id, "Toestemming")
        return render.render_pdf(pack_named(consent.case.table.covenant.pack), "consent", consent_doc(consent), variant=variant)
    raise ValidationError(_("Onbekende soort document."), {"subject_kind": _("'%(subject_kind)s' is geen document.", subject_kind=subject_kind)})


def covenant_docx(session: Session, covenant: Covenant) -> bytes:
    """The covenant as an editable DOCX for legal review."""
    return render.render_docx(pack_named(covenant.pack), "covenant_docx", covenant_doc(session, covenant))


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


def blank_form(pack_name: str, form: str) -> render.RenderedDocument:
    """An empty form annex of a pack by its key (``bijlage1``, ``bijlage5``), for signing
    on paper; an unknown key is a 404 naming ``form``."""
    pack = pack_named(pack_name)
    annex = packs_module.form_annex(pack, form)
    if annex is None:
        keys = ", ".join(a.key for a in packs_module.form_annexes(pack))
        raise NotFound(_("Onbekend formulier."), {"form": _('Kies een van de formulieren van dit pakket: %(keys)s.', keys=keys)})
    kind = packs_module.FORM_KINDS[annex.kind]
    vm = viewmodels.ConsentDoc() if kind == "consent" else viewmodels.DeclarationDoc(kind=kind.removeprefix("declaration_"))
    return render.render_pdf(pack, packs_module.annex_document(pack, annex), vm)


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
