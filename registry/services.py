"""Write operations on the registry: each checks its rule, changes rows and flushes.

They never commit: the caller (a web request, a CLI command, a test) commits once, so a
request either changes everything it meant to or nothing. Errors are
:class:`registry.errors.DomainError` subclasses with Dutch messages per field.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import consents as consent_rules
from registry import packs, rules
from registry.queries import partnership_facts
from registry.errors import Conflict, NotFound, ValidationError
from registry.models import (
    Case,
    CaseTable,
    Consent,
    Covenant,
    Declaration,
    Organisation,
    Partnership,
    Person,
    TableRoleHolder,
)
from registry.texts import N_, _, long_date

SIGNED_VIA = ("paper", "online")
CONSENT_SIGNERS = consent_rules.SIGNED_BY


RECORD_NAMES = {"Covenant": N_("Convenant"), "CaseTable": N_("Casustafel"), "Organisation": N_("Organisatie"),
                "Person": N_("Persoon"), "Declaration": N_("Verklaring"), "Consent": N_("Toestemming"),
                "Meeting": N_("Overleg"), "CovenantAmendment": N_("Wijziging"), "Case": N_("Casus")}
"""What a record is called where a 404 names it (never the model's class name)."""


def get(session: Session, model: type, id_: int | None, field: str):
    """Load a row by id or raise a 404-style error naming the field that referred to it."""
    row = session.get(model, id_) if id_ is not None else None
    if row is None:
        name = _(RECORD_NAMES[model.__name__]) if model.__name__ in RECORD_NAMES else _("Record")
        raise NotFound(_('%(name)s %(id)s bestaat niet.', name=name, id=id_), {field: _("Bestaat niet.")})
    return row


def check_signing_date(signed_on: dt.date | None, field: str = "signed_on") -> None:
    """A 422 naming ``field`` when ``signed_on`` is after today (:func:`rules.signing_date_problem`)."""
    problem = rules.signing_date_problem(signed_on)
    if problem:
        raise ValidationError(_("Datum van ondertekening in de toekomst."), {field: problem})


def _flush(session: Session, message: str, field: str) -> None:
    """Flush, turning a unique-constraint clash into a 409 that names the field."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(message, {field: message}) from exc


# ----------------------------------------------------------------------------- organisations, people


def create_organisation(session: Session, name: str) -> Organisation:
    """Register an organisation (not yet a partner of anything)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Naam is verplicht."), {"name": _("Vul de naam van de organisatie in.")})
    if session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise Conflict(_("Deze organisatie bestaat al."), {"name": _("Er is al een organisatie met deze naam.")})
    organisation = Organisation(name=name)
    session.add(organisation)
    _flush(session, "Er is al een organisatie met deze naam.", "name")
    return organisation


def create_person(
    session: Session,
    *,
    name: str,
    initials: str,
    organisation_id: int,
    function: str = "",
    email: str | None = None,
    employed_from: dt.date | None = None,
    employed_until: dt.date | None = None,
) -> Person:
    """Register a professional of an organisation."""
    errors = {}
    if not (name or "").strip():
        errors["name"] = _("Vul de naam in.")
    if email and ("@" not in email or len(email) > 254):
        errors["email"] = _("Vul een geldig e-mailadres in.")
    if employed_from and employed_until and employed_until < employed_from:
        errors["employed_until"] = _("De einddatum ligt vóór de begindatum.")
    if errors:
        raise ValidationError(_("Controleer de velden."), errors)
    get(session, Organisation, organisation_id, "organisation_id")
    person = Person(
        name=name.strip(),
        initials=(initials or "").strip(),
        organisation_id=organisation_id,
        function=(function or "").strip(),
        email=(email or "").strip() or None,
        employed_from=employed_from,
        employed_until=employed_until,
    )
    session.add(person)
    session.flush()
    return person


def find_or_create_organisation(session: Session, name: str) -> Organisation:
    """The organisation with this name (case-insensitive), registered when new.

    Forms let people type an organisation instead of picking an id; typing an existing
    name must not register it twice.
    """
    name = (name or "").strip()
    existing = session.scalar(select(Organisation).where(func.lower(Organisation.name) == name.lower())) if name else None
    return existing or create_organisation(session, name)


def find_or_create_person(
    session: Session, *, organisation_id: int, name: str, initials: str = "", function: str = "", email: str | None = None
) -> Person:
    """The person of this organisation with this name and initials, registered when new.

    A known person gets the function and e-mail typed now (their current ones), because
    the declaration they sign prints the function they hold when signing.
    """
    person = session.scalar(
        select(Person).where(
            Person.organisation_id == organisation_id,
            func.lower(Person.name) == (name or "").strip().lower(),
            func.lower(Person.initials) == (initials or "").strip().lower(),
        )
    ) if (name or "").strip() else None
    if person is None:
        return create_person(session, name=name, initials=initials, organisation_id=organisation_id, function=function, email=email)
    if email and ("@" not in email or len(email) > 254):
        raise ValidationError(_("Controleer de velden."), {"email": _("Vul een geldig e-mailadres in.")})
    person.function = (function or "").strip() or person.function
    person.email = (email or "").strip() or person.email
    session.flush()
    return person


def end_employment(session: Session, person: Person, until: dt.date) -> Person:
    """Record a person's last working day (entitled up to and including it)."""
    if person.employed_from and until < person.employed_from:
        raise ValidationError(_("Einddatum vóór begindatum."), {"employed_until": _("De einddatum ligt vóór de begindatum.")})
    person.employed_until = until
    session.flush()
    return person


# ----------------------------------------------------------------------------- covenants and partnerships


def covenant_pack(covenant: Covenant) -> packs.Pack | None:
    """The covenant's template pack, or None when it no longer exists."""
    return packs.cached_pack(covenant.pack)


def covenant_areas(covenant: Covenant) -> list[str]:
    """The covenant's own areas (art. 1); a covenant drafted before it had them: the pack's."""
    if covenant.areas is not None:
        return list(covenant.areas)
    pack = covenant_pack(covenant)
    return [a.name for a in pack.areas] if pack else []


def _covenant_data(pack_name: str, region: str, areas, municipality) -> tuple[list[str], str]:
    """The areas and municipality of a covenant: as given (checked), else the pack's
    defaults (areas; municipality when the region is the pack's, else "gemeente <region>")."""
    pack = packs.cached_pack(pack_name)
    errors = {}
    if areas is None:
        areas = [a.name for a in pack.areas] if pack else []
    else:
        cleaned = [(a or "").strip() if isinstance(a, str) else "" for a in areas]
        folded = [a.casefold() for a in cleaned]
        if not cleaned:
            errors["areas"] = _("Noem ten minste één gebied.")
        elif any(not a for a in cleaned):
            errors["areas"] = _("Een gebied mag niet leeg zijn.")
        elif any(len(a) > 200 for a in cleaned):
            errors["areas"] = _("Een gebied is te lang (maximaal %(max)s tekens).", max=200)
        elif len(set(folded)) != len(folded):
            errors["areas"] = _("Elk gebied mag maar één keer voorkomen.")
        areas = cleaned
    municipality = (municipality or "").strip()
    if len(municipality) > 200:
        errors["municipality"] = _("Te lang (maximaal %(max)s tekens).", max=200)
    if not municipality:
        municipality = packs.default_municipality(pack, region) if pack else f"gemeente {region.strip()}"
    if errors:
        raise ValidationError(_("Controleer de velden."), errors)
    return areas, municipality


def create_covenant(session: Session, *, pack: str, title: str, region: str,
                    areas: list[str] | None = None, municipality: str | None = None) -> Covenant:
    """Draft a covenant from a template pack; it comes into force when its partners sign.

    The covenant has its own ``areas`` and ``municipality`` (art. 1); left out, the pack
    supplies them (the municipality only when the region is the pack's own)."""
    errors = {k: "Dit veld is verplicht." for k, v in (("pack", pack), ("title", title), ("region", region)) if not (v or "").strip()}
    if errors:
        raise ValidationError(_("Controleer de velden."), errors)
    areas, municipality = _covenant_data(pack.strip(), region, areas, municipality)
    covenant = Covenant(pack=pack.strip(), title=title.strip(), region=region.strip(), areas=areas, municipality=municipality)
    session.add(covenant)
    session.flush()
    return covenant


def update_covenant_draft(session: Session, covenant: Covenant, *, pack: str, title: str, region: str,
                          areas: list[str] | None = None, municipality: str | None = None) -> Covenant:
    """Change the title, region, pack, areas or municipality of a covenant that is still a
    draft (*concept*). An area that already has a table cannot be removed."""
    if covenant.status != "draft":
        raise Conflict(_("Alleen een concept kan worden gewijzigd."), {"title": _("Dit convenant is al in werking.")})
    errors = {k: "Dit veld is verplicht." for k, v in (("pack", pack), ("title", title), ("region", region)) if not (v or "").strip()}
    if errors:
        raise ValidationError(_("Controleer de velden."), errors)
    if areas is None:
        areas = covenant_areas(covenant) if pack.strip() == covenant.pack else None
    if municipality is None and pack.strip() == covenant.pack and region.strip() == covenant.region:
        municipality = covenant.municipality
    areas, municipality = _covenant_data(pack.strip(), region, areas, municipality)
    in_use = sorted({t.area for t in covenant.tables} - set(areas))
    if in_use:
        raise ValidationError(_("Controleer de velden."), {"areas": _('Er is al een casustafel voor %(value)s.', value=', '.join(in_use))})
    covenant.pack, covenant.title, covenant.region = pack.strip(), title.strip(), region.strip()
    covenant.areas, covenant.municipality = areas, municipality
    session.flush()
    return covenant


def add_partner(
    session: Session,
    covenant: Covenant,
    *,
    organisation_id: int,
    representative_id: int | None,
    signed_on: dt.date | None = None,
    signed_via: str = "paper",
    mandate: str | None = None,
) -> Partnership:
    """List an organisation as a partner, represented by one of its people.

    Before the covenant is in force the organisation is a founding partner; afterwards it
    joins by accession (*toetreding*) from its own signing date. A ``signed_on`` date
    records a signature made on paper. ``mandate`` records that the representative signs
    *met mandaat* (of whom or what); only a pack with ``[covenant] mandate = true`` allows it.
    """
    check_signing_date(signed_on)
    mandate = check_mandate(covenant, mandate)
    organisation = get(session, Organisation, organisation_id, "organisation_id")
    if representative_id is not None:
        representative = get(session, Person, representative_id, "representative_id")
        if representative.organisation_id != organisation.id:
            raise ValidationError(
                _("De vertegenwoordiger hoort niet bij deze organisatie."),
                {"representative_id": _('%(name)s werkt niet bij %(name2)s.', name=representative.name, name2=organisation.name)},
            )
    existing = session.scalar(
        select(Partnership).where(Partnership.covenant_id == covenant.id, Partnership.organisation_id == organisation.id)
    )
    if existing is not None:
        raise Conflict(
            _('%(name)s is al partner van dit convenant.', name=organisation.name),
            {"organisation_id": _("Deze organisatie staat al op het convenant.")},
        )
    founding = (
        not is_in_use(session, covenant)
        or covenant.in_force_on is None
        or (signed_on is not None and signed_on <= covenant.in_force_on)
    )
    partnership = Partnership(
        covenant=covenant,
        organisation=organisation,
        representative_id=representative_id,
        founding=founding,
        mandate=mandate,
    )
    session.add(partnership)
    session.flush()
    if signed_on is not None:
        sign_partnership(session, partnership, signed_on, signed_via)
    else:
        refresh_in_force(session, covenant)
        session.flush()
    return partnership


def check_mandate(covenant: Covenant, mandate: str | None) -> str | None:
    """The mandate text, stripped (None when empty); a 422 naming ``mandate`` when the
    covenant's pack has no signing *met mandaat* or the text is too long."""
    mandate = (mandate or "").strip() or None
    if mandate is None:
        return None
    pack = packs.cached_pack(covenant.pack)
    if pack is None or not pack.mandate:
        raise ValidationError(
            _("Dit convenant kent geen ondertekening met mandaat."),
            {"mandate": _("Het sjabloonpakket van dit convenant kent geen ondertekening met mandaat.")},
        )
    if len(mandate) > 300:
        raise ValidationError(_("Controleer de velden."), {"mandate": _("Maximaal 300 tekens.")})
    return mandate


def chair_model_choices(covenant_or_pack: Covenant | str | None) -> tuple[str, ...]:
    """The chair models (*voorzitterschap*) a covenant may choose: those of its pack
    (``[covenant] chair_models``); empty when the pack offers none."""
    name = covenant_or_pack.pack if isinstance(covenant_or_pack, Covenant) else covenant_or_pack
    return packs.chair_model_choices(name)


def chair_model_options(pack_name: str | None) -> list[tuple[str, str]]:
    """The chair models of a pack as (key, Dutch label), for the covenant form."""
    return packs.chair_model_options(pack_name)


def set_chair_model(session: Session, covenant: Covenant, chair_model: str | None) -> Covenant:
    """Record the covenant's chair model, one of its pack's ``chair_models``; None (not
    chosen yet) is allowed while drafting. A 422 naming ``chair_model`` otherwise, and
    once the covenant is in force (the signed text names the model)."""
    chair_model = (chair_model or "").strip() or None
    if chair_model == covenant.chair_model:
        return covenant
    choices = chair_model_choices(covenant)
    if chair_model is not None and chair_model not in choices:
        labels = [label for _key, label in chair_model_options(covenant.pack)] or list(choices)
        message = (_("Kies een van: %(choices)s.", choices=", ".join(labels)) if choices
                   else _("Het sjabloonpakket van dit convenant kent geen keuze voor het voorzitterschap."))
        raise ValidationError(_("Onbekend model van voorzitterschap."), {"chair_model": message})
    if covenant.in_force_on is not None:
        raise Conflict(_("Het convenant is al in werking."), {"chair_model": _("Het voorzitterschap staat in het getekende convenant.")})
    covenant.chair_model = chair_model
    session.flush()
    return covenant


def is_in_use(session: Session, covenant: Covenant) -> bool:
    """Is the founding list closed? True once the covenant was started early or has tables.

    While a covenant is being composed every partner added is founding and the in-force
    date follows the last founding signature (*the partners listed when it was sent for
    signing*, design.md). Once it is in use, an organisation added later joins by
    accession (*toetreding*) from its own signing date, unless its paper signature
    predates the coming into force.
    """
    has_tables = session.scalar(select(CaseTable.id).where(CaseTable.covenant_id == covenant.id).limit(1))
    return covenant.started_early or has_tables is not None


def sign_partnership(session: Session, partnership: Partnership, signed_on: dt.date, signed_via: str = "paper") -> Partnership:
    """Record the representative's signature; the covenant comes into force when the last
    founding partner has signed (on the latest founding signing date)."""
    if signed_via not in SIGNED_VIA:
        raise ValidationError(_("Onbekende wijze van ondertekenen."), {"signed_via": _("Kies papier of online.")})
    check_signing_date(signed_on)
    if partnership.signed_on is not None:
        raise Conflict(_("Dit partnerschap is al ondertekend."), {"signed_on": _('Al ondertekend op %(signed_on)s.', signed_on=long_date(partnership.signed_on))})
    partnership.signed_on = signed_on
    partnership.signed_via = signed_via
    session.flush()
    refresh_in_force(session, partnership.covenant)
    session.flush()
    return partnership


def refresh_in_force(session: Session, covenant: Covenant) -> None:
    """Set the coming-into-force date: the last founding partner's signing date.

    A covenant started early keeps its start date; one with an unsigned founding partner
    is not in force yet.
    """
    if covenant.started_early:
        return
    founders = session.scalars(
        select(Partnership).where(Partnership.covenant_id == covenant.id, Partnership.founding.is_(True))
    ).all()
    complete = founders and all(p.signed_on for p in founders)
    covenant.in_force_on = max(p.signed_on for p in founders) if complete else None


def start_covenant(session: Session, covenant: Covenant, on: dt.date) -> Covenant:
    """Bring the covenant into force now with the partners that signed so far.

    Founding partners that have not signed stay listed and join from their own signing date.
    """
    if covenant.in_force_on is not None:
        raise Conflict(_("Het convenant is al in werking."), {"on": _('In werking sinds %(in_force_on)s.', in_force_on=long_date(covenant.in_force_on))})
    signed = session.scalar(
        select(Partnership.id).where(Partnership.covenant_id == covenant.id, Partnership.signed_on <= on).limit(1)
    )
    if signed is None:
        raise ValidationError(
            _("Nog geen partner heeft getekend."), {"on": _("Op deze datum heeft nog geen partner het convenant getekend.")}
        )
    covenant.in_force_on = on
    covenant.started_early = True
    session.flush()
    return covenant


def partnership_of(session: Session, covenant: Covenant, organisation_id: int) -> Partnership:
    """The partnership of an organisation in a covenant, or a 404."""
    partnership = session.scalar(
        select(Partnership).where(Partnership.covenant_id == covenant.id, Partnership.organisation_id == organisation_id)
    )
    if partnership is None:
        raise NotFound(_("Deze organisatie is geen partner van dit convenant."), {"organisation_id": _("Geen partner.")})
    return partnership


def _require_active(partnership: Partnership, on: dt.date, field: str) -> None:
    """Ending a partnership needs a signed partnership that has not already ended by ``on``."""
    if partnership.signed_on is None:
        raise ValidationError(_("Deze partner heeft nog niet getekend."), {field: _("De partner heeft het convenant nog niet getekend.")})
    if on < partnership.signed_on:
        raise ValidationError(_("Datum vóór de ondertekening."), {field: _('Ligt vóór de ondertekening (%(signed_on)s).', signed_on=long_date(partnership.signed_on))})
    end = rules.partnership_end(partnership_facts(partnership, partnership.organisation.name))
    if end is not None and end[0] <= on:
        raise Conflict(_("Het partnerschap is al beëindigd."), {field: _('Al beëindigd per %(value)s.', value=end[0])})


def give_notice(session: Session, partnership: Partnership, given_on: dt.date) -> Partnership:
    """Record notice (*opzegging*): the partnership ends the notice period of the
    covenant's template pack later (``[term] notice_months``; 3 without a pack)."""
    _require_active(partnership, given_on, "given_on")
    if partnership.notice_given_on is not None:
        raise Conflict(_("Er is al opgezegd."), {"given_on": _('Al opgezegd op %(notice_given_on)s.', notice_given_on=long_date(partnership.notice_given_on))})
    partnership.notice_given_on = given_on
    partnership.ends_on = rules.notice_end_date(given_on, packs.term_of(partnership.covenant.pack).notice_months)
    session.flush()
    return partnership


def terminate_immediately(session: Session, partnership: Partnership, on: dt.date, decision: str) -> Partnership:
    """Record an immediate termination agreed by a majority of partners (*directe opzegging*)."""
    if not (decision or "").strip():
        raise ValidationError(_("Besluit ontbreekt."), {"decision": _("Beschrijf het meerderheidsbesluit.")})
    _require_active(partnership, on, "on")
    partnership.ended_immediately_on = on
    partnership.termination_decision = decision.strip()
    session.flush()
    return partnership


def exclude(session: Session, partnership: Partnership, on: dt.date, reason: str) -> Partnership:
    """Exclude a partner that knowingly broke the rules (*uitsluiting*, consideration 12)."""
    if not (reason or "").strip():
        raise ValidationError(_("Reden ontbreekt."), {"reason": _("Geef de reden van uitsluiting.")})
    _require_active(partnership, on, "on")
    partnership.excluded_on = on
    partnership.exclusion_reason = reason.strip()
    session.flush()
    return partnership


# ----------------------------------------------------------------------------- tables, declarations, cases


COLUMN_ROLES = {"chair": "chair_id", "coordinator": "coordinator_id"}
"""Table roles kept as columns of :class:`CaseTable`; every other pack role is a
:class:`TableRoleHolder` row."""


def _check_role_holders(session: Session, covenant: Covenant, holders: dict[str, int | None]) -> None:
    """Every named holder exists and comes from an organisation the pack allows for the
    role (art. 3: chair from Stichting de Toegang, coordinator from Sedna; a
    procesregisseur from the school or samenwerkingsverband). ``holders`` maps a field
    name (``chair_id``, ``coordinator_id``, ``roles.<key>``) to a person id."""
    pack = covenant_pack(covenant)
    roles = {r.key: r for r in (pack.roles if pack else ())}
    errors = {}
    for field_name, person_id in holders.items():
        if person_id is None:
            continue
        person = get(session, Person, person_id, field_name)
        key = next((k for k, f in COLUMN_ROLES.items() if f == field_name), field_name.removeprefix("roles."))
        role = roles.get(key)
        if role is not None and not packs.role_allows(role, person.organisation.name):
            errors[field_name] = _("De %(role)s komt van %(organisations)s; %(name)s werkt bij %(organisation)s.",
                                   role=role.label, organisations=_(" of ").join(role.organisations),
                                   name=person.name, organisation=person.organisation.name)
    if errors:
        raise ValidationError(_("Deze persoon kan deze rol niet vervullen."), errors)


def _other_roles(covenant: Covenant, roles: dict[str, int | None] | None) -> dict[str, int | None]:
    """The non-column roles asked for, as ``roles.<key>`` fields; unknown keys refused."""
    if not roles:
        return {}
    pack = covenant_pack(covenant)
    known = {r.key for r in (pack.roles if pack else ())} - set(COLUMN_ROLES)
    unknown = {f"roles.{k}": (f"Gebruik {COLUMN_ROLES[k]}." if k in COLUMN_ROLES else
                              "Deze rol kent het sjabloonpakket van het convenant niet.")
               for k in roles if k not in known}
    if unknown:
        raise ValidationError(_("Onbekende rol."), unknown)
    return {f"roles.{k}": v for k, v in roles.items()}


def _store_roles(session: Session, table: CaseTable, roles: dict[str, int | None]) -> None:
    """Set (or with None remove) the holders of the table's non-column roles."""
    current = {h.role: h for h in session.scalars(select(TableRoleHolder).where(TableRoleHolder.table_id == table.id))}
    for key, person_id in roles.items():
        holder = current.get(key)
        if person_id is None:
            if holder is not None:
                session.delete(holder)
        elif holder is None:
            session.add(TableRoleHolder(table_id=table.id, role=key, person_id=person_id))
        else:
            holder.person_id = person_id
    session.flush()


def table_roles(session: Session, table: CaseTable) -> dict[str, int]:
    """The table's non-column role holders: ``{role key: person id}``."""
    return {h.role: h.person_id for h in session.scalars(
        select(TableRoleHolder).where(TableRoleHolder.table_id == table.id).order_by(TableRoleHolder.role))}


def create_table(
    session: Session,
    *,
    covenant_id: int,
    name: str,
    area: str,
    chair_id: int | None = None,
    coordinator_id: int | None = None,
    roles: dict[str, int | None] | None = None,
) -> CaseTable:
    """Open a casustafel for an area of the covenant, with its chair, coordinator and the
    other roles of the pack (``roles``: key → person id); each holder must come from an
    organisation the pack names for the role."""
    errors = {k: "Dit veld is verplicht." for k, v in (("name", name), ("area", area)) if not (v or "").strip()}
    if errors:
        raise ValidationError(_("Controleer de velden."), errors)
    covenant = get(session, Covenant, covenant_id, "covenant_id")
    areas = covenant_areas(covenant)
    if area.strip() not in areas:
        raise ValidationError(_("Onbekend gebied."), {"area": (
            _("'%(value)s' is geen gebied van dit convenant; kies uit: %(value2)s.", value=area.strip(), value2=', '.join(areas)) if areas
            else _("Dit convenant heeft nog geen gebieden."))})
    others = _other_roles(covenant, roles)
    _check_role_holders(session, covenant, {"chair_id": chair_id, "coordinator_id": coordinator_id, **others})
    table = CaseTable(
        covenant_id=covenant_id, name=name.strip(), area=area.strip(), chair_id=chair_id, coordinator_id=coordinator_id
    )
    session.add(table)
    session.flush()
    _store_roles(session, table, {k.removeprefix("roles."): v for k, v in others.items()})
    return table


def set_table_roles(session: Session, table: CaseTable, *, chair_id: int | None, coordinator_id: int | None,
                    roles: dict[str, int | None] | None = None) -> CaseTable:
    """Name the chair (*voorzitter*), coordinator (*coördinator*) and, with ``roles``, the
    other role holders of a table; each from an organisation the pack allows."""
    others = _other_roles(table.covenant, roles)
    _check_role_holders(session, table.covenant, {"chair_id": chair_id, "coordinator_id": coordinator_id, **others})
    table.chair_id, table.coordinator_id = chair_id, coordinator_id
    session.flush()
    _store_roles(session, table, {k.removeprefix("roles."): v for k, v in others.items()})
    return table


def create_declaration(
    session: Session,
    *,
    kind: str,
    person_id: int,
    table_id: int,
    case_ref: str | None = None,
    signed_on: dt.date | None = None,
    signed_via: str = "paper",
) -> Declaration:
    """Record a Bijlage 1 (structural) or Bijlage 2 (incidental, for one case) declaration.

    Without ``signed_on`` it waits for signing. A Bijlage 2 opens the case on the table
    when it is not known yet.
    """
    errors = {}
    if kind not in (rules.STRUCTURAL, rules.INCIDENTAL):
        errors["kind"] = _("Kies een structurele verklaring (Bijlage 1) of een incidentele (Bijlage 2).")
    case_ref = (case_ref or "").strip() or None
    if kind == rules.INCIDENTAL and not case_ref:
        errors["case_ref"] = _("Een Bijlage 2 geldt voor één casus: vul de casusreferentie in.")
    if kind == rules.STRUCTURAL and case_ref:
        errors["case_ref"] = _("Een Bijlage 1 geldt voor de hele casustafel, niet voor één casus.")
    if case_ref and len(case_ref) > 100:
        errors["case_ref"] = _("De casusreferentie is te lang (maximaal %(max)s tekens).", max=100)
    elif case_ref and (problem := rules.case_reference_problem(case_ref)):
        errors["case_ref"] = problem
    if signed_via not in SIGNED_VIA:
        errors["signed_via"] = _("Kies papier of online.")
    if problem := rules.signing_date_problem(signed_on):
        errors["signed_on"] = problem
    if errors:
        raise ValidationError(_("Controleer de velden."), errors)
    get(session, Person, person_id, "person_id")
    table = get(session, CaseTable, table_id, "table_id")
    if case_ref:
        ensure_case(session, table, case_ref, signed_on or dt.date.today())
    declaration = Declaration(
        kind=kind,
        person_id=person_id,
        table_id=table_id,
        case_ref=case_ref,
        signed_on=signed_on,
        signed_via=signed_via if signed_on else None,
    )
    session.add(declaration)
    session.flush()
    return declaration


def pending_declaration(
    session: Session, *, kind: str, person_id: int, table_id: int, case_ref: str | None = None
) -> Declaration | None:
    """The person's declaration of ``kind`` for this table (and case) that still waits for
    signing, if any: sending a missing Bijlage 1/2 again reuses it instead of adding one."""
    case_ref = (case_ref or "").strip() or None
    return session.scalar(
        select(Declaration).where(
            Declaration.kind == kind, Declaration.person_id == person_id, Declaration.table_id == table_id,
            Declaration.case_ref.is_(None) if case_ref is None else Declaration.case_ref == case_ref,
            Declaration.signed_on.is_(None), Declaration.revoked_on.is_(None),
        ).order_by(Declaration.id).limit(1)
    )


def record_signature(session: Session, row, signed_on: dt.date, signed_via: str, already: str):
    """Record the signature of a declaration or consent that waited for it (once only)."""
    if signed_via not in SIGNED_VIA:
        raise ValidationError(_("Onbekende wijze van ondertekenen."), {"signed_via": _("Kies papier of online.")})
    check_signing_date(signed_on)
    if row.signed_on is not None:
        raise Conflict(already, {"signed_on": _('Al getekend op %(signed_on)s.', signed_on=long_date(row.signed_on))})
    row.signed_on = signed_on
    row.signed_via = signed_via
    session.flush()
    return row


def sign_declaration(session: Session, declaration: Declaration, signed_on: dt.date, signed_via: str) -> Declaration:
    """Record the signature of a Bijlage 1/2 that waited for it."""
    return record_signature(session, declaration, signed_on, signed_via, "Deze verklaring is al getekend.")


def revoke_declaration(session: Session, declaration: Declaration, on: dt.date) -> Declaration:
    """End a declaration from ``on`` (exclusive); the row stays for history."""
    if declaration.revoked_on is not None:
        raise Conflict(_("Al ingetrokken."), {"on": _('Al ingetrokken per %(revoked_on)s.', revoked_on=long_date(declaration.revoked_on))})
    declaration.revoked_on = on
    session.flush()
    return declaration


def ensure_case(session: Session, table: CaseTable, reference: str, opened_on: dt.date, *,
                by: str | None = None, field: str = "case_ref") -> Case:
    """The case with this reference on this table; a new reference opens the case on
    ``opened_on`` through the one :func:`registry.cases.open_case` (its validation, its
    first phase, its "opened" step by ``by``), a refusal naming ``field``."""
    from registry import cases  # cases reads packs and queries like services: import at call time

    case = find_case(session, table.id, reference)
    if case is not None:
        return case
    try:
        return cases.open_case(session, table, reference, opened_on=opened_on, by=by or "systeem", implied=True)
    except ValidationError as exc:
        raise ValidationError(exc.message, {field if key == "reference" else key: text
                                            for key, text in exc.fields.items()}) from None


def find_case(session: Session, table_id: int, reference: str) -> Case | None:
    """A case by table and reference, or None."""
    return session.scalar(select(Case).where(Case.table_id == table_id, Case.reference == reference))


# ----------------------------------------------------------------------------- consent


def create_consent(
    session: Session,
    *,
    table_id: int,
    case_ref: str,
    signed_by: str,
    resident_name: str,
    resident_birth_date: dt.date | None,
    purpose: str,
    categories: list[str],
    recipient_ids: list[int],
    other_recipients: list[str] | None = None,
    contact_person: str | None = None,
    signed_on: dt.date | None = None,
    signed_via: str = "paper",
) -> Consent:
    """Record a Bijlage 4 consent for a case; without ``signed_on`` it waits for signing.

    The table's covenant's pack decides which data categories exist and who signs
    (:mod:`registry.consents`: its ``[[consent_signers]]`` age bands on the signing date,
    for an unsigned consent today): ``signed_by`` must match, so a birth date is required.
    """
    table = session.get(CaseTable, table_id) if table_id is not None else None
    if table is not None:  # a table sharing under art. 458ter Sw. has no consent at all
        consent_rules.refuse_without_consent(packs.cached_pack(table.covenant.pack), "table_id")
    errors = {}
    if signed_by not in CONSENT_SIGNERS:
        errors["signed_by"] = _("Kies inwoner, ouders/verzorgers of beide.")
    if not (resident_name or "").strip():
        errors["resident_name"] = _("Vul de naam van de inwoner in.")
    if not (case_ref or "").strip():
        errors["case_ref"] = _("Vul de casusreferentie in.")
    elif problem := rules.case_reference_problem(case_ref):
        errors["case_ref"] = problem
    if problem := rules.signing_date_problem(signed_on):
        errors["signed_on"] = problem
    contact_person = (contact_person or "").strip() or None
    if contact_person and len(contact_person) > 200:
        errors["contact_person"] = _("Te lang (maximaal %(max)s tekens).", max=200)
    others = [o.strip() for o in (other_recipients or []) if o and o.strip()]
    if not recipient_ids and not others:
        errors["recipients"] = _("Kies ten minste één organisatie die de gegevens mag ontvangen.")
    on = signed_on or dt.date.today()
    if resident_birth_date and resident_birth_date > on:
        errors["resident_birth_date"] = _("De geboortedatum ligt in de toekomst.")
    pack = _pack_of(table.covenant) if table is not None else None
    if not categories:
        errors["categories"] = _("Kies ten minste één soort gegevens.")
    elif pack is not None and (bad := [c for c in categories if c not in pack.category_keys()]):
        errors["categories"] = _("Onbekende categorie: %(codes)s.", codes=", ".join(bad))
    if pack is not None and consent_rules.has_rule(pack) and "resident_birth_date" not in errors:
        if resident_birth_date is None:
            errors["resident_birth_date"] = _("Vul de geboortedatum in: de leeftijd bepaalt wie tekent.")
        elif signed_by in CONSENT_SIGNERS:
            required = consent_rules.required_signers(pack, resident_birth_date, on)
            if required and set(consent_rules.roles_of(signed_by)) != set(required):
                errors["signed_by"] = consent_rules.rule_text(pack, resident_birth_date, on)
    if errors:
        raise ValidationError(_("Controleer de velden."), errors)
    table = get(session, CaseTable, table_id, "table_id")
    recipients = [get(session, Organisation, org_id, "recipients") for org_id in dict.fromkeys(recipient_ids)]
    case = ensure_case(session, table, case_ref.strip(), signed_on or dt.date.today())
    consent = Consent(
        case=case,
        signed_by=signed_by,
        resident_name=resident_name.strip(),
        resident_birth_date=resident_birth_date,
        purpose=(purpose or "").strip(),
        categories=list(dict.fromkeys(categories)),
        other_recipients=others,
        recipients=recipients,
        contact_person=contact_person,
        signed_on=signed_on,
        signed_via=signed_via if signed_on else None,
    )
    session.add(consent)
    session.flush()
    return consent


def _pack_of(covenant: Covenant):
    """The template pack of a covenant, or a 422 naming ``pack``."""
    pack = packs.cached_pack(covenant.pack)
    if pack is None:
        raise ValidationError(_("Onbekend sjabloonpakket."), {"pack": _("Sjabloonpakket '%(pack)s' bestaat niet.", pack=covenant.pack)})
    return pack


def consent_required_signers(consent: Consent) -> tuple[str, ...]:
    """The roles that must sign this consent (its ``signed_by``, checked against the pack's
    rule when it was recorded): ``resident`` and/or ``parents``."""
    return consent_rules.roles_of(consent.signed_by)


def refuse_closed_consent(consent: Consent) -> None:
    """A declined or withdrawn consent is not signed any more (409)."""
    if consent.declined_on is not None:
        raise Conflict(_("Deze toestemming is geweigerd."), {"signers": _('Geweigerd op %(declined_on)s; leg een nieuwe toestemming vast.', declined_on=long_date(consent.declined_on))})
    if consent.withdrawn_on is not None:
        raise Conflict(_("Deze toestemming is ingetrokken."), {"signers": _('Ingetrokken per %(withdrawn_on)s.', withdrawn_on=long_date(consent.withdrawn_on))})


def check_consent_signers(consent: Consent, roles: list[str], already: list[str], on: dt.date,
                          complete: bool = True) -> None:
    """Signing requests for a consent must go to exactly its required roles: every role
    invited is required, and (when ``complete``: by link, all at once) together with the
    live requests (``already``) every required role is invited. Also re-checks the pack's
    age rule on the sending date."""
    refuse_closed_consent(consent)
    if consent.signed_on is not None:
        raise Conflict(_("Deze toestemming is al getekend."), {"signers": _('Al getekend op %(signed_on)s.', signed_on=long_date(consent.signed_on))})
    pack = _pack_of(consent.case.table.covenant)
    if consent_rules.has_rule(pack) and consent.resident_birth_date is not None:
        required_now = consent_rules.required_signers(pack, consent.resident_birth_date, on)
        if required_now and set(required_now) != set(consent_required_signers(consent)):
            raise ValidationError(_("Wie tekent klopt niet meer met de leeftijd."), {
                "signed_by": consent_rules.rule_text(pack, consent.resident_birth_date, on) + _(" Leg een nieuwe toestemming vast.")})
    required = consent_required_signers(consent)
    rule = f"Voor deze toestemming tekenen: {consent_rules.signers_nl(required)}."
    wrong = sorted({r for r in roles if r not in required})
    if wrong:
        raise ValidationError(_("Deze ondertekenaar hoeft niet te tekenen."), {
            "signers": _('%(value)s tekent niet. %(rule)s', value=consent_rules.signers_nl(tuple(wrong)).capitalize(), rule=rule)})
    missing = [r for r in required if r not in roles and r not in already]
    if missing and complete:
        raise ValidationError(_("Niet iedereen die moet tekenen is uitgenodigd."), {
            "signers": _('Nodig ook: %(value)s. %(rule)s', value=consent_rules.signers_nl(tuple(missing)), rule=rule)})
    if roles.count("resident") + already.count("resident") > 1:
        raise ValidationError(_("De inwoner tekent één keer."), {"signers": _("Nodig de inwoner één keer uit.")})


def sign_consent(session: Session, consent: Consent, signed_on: dt.date, signed_via: str) -> Consent:
    """Record the signature that makes a waiting consent (Bijlage 4) valid (every required signer signed)."""
    if consent.declined_on is not None:
        raise Conflict(_("Deze toestemming is geweigerd."), {"signed_on": _('Geweigerd op %(declined_on)s.', declined_on=long_date(consent.declined_on))})
    return record_signature(session, consent, signed_on, signed_via, "Deze toestemming is al getekend.")


def decline_consent(session: Session, consent: Consent, on: dt.date) -> Consent:
    """A required signer declined: the consent is ``declined`` from ``on`` and never becomes valid.

    A consent that is already signed stays signed (ending it is a withdrawal)."""
    if consent.signed_on is None and consent.declined_on is None:
        consent.declined_on = on
        session.flush()
    return consent


def withdraw_consent(session: Session, consent: Consent, on: dt.date, by: str) -> Consent:
    """Record the withdrawal (*intrekking*) of a consent from ``on`` (exclusive), by whom."""
    if consent.withdrawn_on is not None:
        raise Conflict(_("Al ingetrokken."), {"on": _('Ingetrokken per %(withdrawn_on)s.', withdrawn_on=long_date(consent.withdrawn_on))})
    if consent.signed_on is not None and on < consent.signed_on:
        raise ValidationError(_("Datum vóór ondertekening."), {"on": _('Getekend op %(signed_on)s.', signed_on=long_date(consent.signed_on))})
    consent.withdrawn_on = on
    consent.withdrawn_by = by
    session.flush()
    return consent
