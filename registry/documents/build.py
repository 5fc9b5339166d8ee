"""From registry rows to documents: view-models built from the database, then rendered.

This is the only place that turns ORM objects into the plain view-models of
:mod:`registry.documents.viewmodels`; the renderer never sees a live ORM object, so
the same data always gives the same bytes. Signing (the document a signer sees), the
web forms and the API all get their documents from here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import packs as packs_module
from registry.documents import render, viewmodels
from registry.errors import NotFound, ValidationError
from registry.models import CaseTable, Consent, Covenant, Declaration, Partnership, Person

BLANK_FORMS = {"bijlage1": "declaration_structural", "bijlage2": "declaration_incidental", "bijlage4": "consent"}


def pack_named(name: str) -> packs_module.Pack:
    """The template pack, or a 422 naming ``pack`` when it does not exist."""
    try:
        return packs_module.load_pack(name)
    except packs_module.PackError as exc:
        raise ValidationError("Onbekend sjabloonpakket.", {"pack": f"Sjabloonpakket '{name}' bestaat niet."}) from exc


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
        region=covenant.region or base.region, municipality=base.municipality,
        pack=pack.name, version=pack.version, parties=base.parties, tables=base.tables,
        table_role_organisations=base.table_role_organisations, in_force_on=covenant.in_force_on,
        chair_model=covenant.chair_model or "",
    )


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
    initials = f"{person.initials} " if person.initials and not person.name.startswith(person.initials) else ""
    return viewmodels.DeclarationDoc(
        kind=declaration.kind,
        table_name=declaration.table.name,
        person_name=f"{initials}{person.name}".strip(),
        organisation=person.organisation.name,
        function=person.function or "",
        case_ref=declaration.case_ref or "",
        signed_on=declaration.signed_on,
    )


def match_recipient(pack: packs_module.Pack, organisation_name: str) -> str | None:
    """The consent form's label for a registry organisation, if the form lists it.

    The form names organisations briefly ("Stichting X"), the registry often fully
    ("Stichting X Regio"): a label matches when one contains the other.
    """
    folded = organisation_name.casefold()
    for label in pack.recipient_names():
        if label.casefold() in folded or folded in label.casefold():
            return label
    return None


def consent_doc(consent: Consent) -> viewmodels.ConsentDoc:
    """A Bijlage 4 as filled in: recipients on the form are ticked, others go under 'Anders'."""
    pack = pack_named(consent.case.table.covenant.pack)
    ticked, others = [], []
    for organisation in consent.recipients:
        label = match_recipient(pack, organisation.name)
        (ticked.append(label) if label else others.append(organisation.name))
    others.extend(consent.other_recipients or [])
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
    )


def _load(session: Session, model: type, id_: int, label: str):
    """A row by id, or a 404 naming ``id``."""
    row = session.get(model, id_)
    if row is None:
        raise NotFound(f"{label} {id_} bestaat niet.", {"id": "Bestaat niet."})
    return row


def pack_of_subject(session: Session, subject_kind: str, subject_id: int) -> str:
    """The template pack name of a covenant, declaration or consent (via its covenant)."""
    if subject_kind == "covenant":
        return _load(session, Covenant, subject_id, "Convenant").pack
    if subject_kind == "declaration":
        return _load(session, Declaration, subject_id, "Verklaring").table.covenant.pack
    if subject_kind == "consent":
        return _load(session, Consent, subject_id, "Toestemming").case.table.covenant.pack
    raise ValidationError("Onbekende soort document.", {"subject_kind": f"'{subject_kind}' is geen document."})


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
    raise ValidationError("Onbekende soort document.", {"subject_kind": f"'{subject_kind}' is geen document."})


def covenant_docx(session: Session, covenant: Covenant) -> bytes:
    """The covenant as an editable DOCX for legal review."""
    return render.render_docx(pack_named(covenant.pack), "covenant_docx", covenant_doc(session, covenant))


def blank_form(pack_name: str, form: str) -> render.RenderedDocument:
    """An empty Bijlage 1, 2 or 4 for signing on paper."""
    if form not in BLANK_FORMS:
        raise NotFound("Onbekend formulier.", {"form": "Kies bijlage1, bijlage2 of bijlage4."})
    kind = BLANK_FORMS[form]
    vm = viewmodels.ConsentDoc() if kind == "consent" else viewmodels.DeclarationDoc(kind=kind.removeprefix("declaration_"))
    return render.render_pdf(pack_named(pack_name), kind, vm)
