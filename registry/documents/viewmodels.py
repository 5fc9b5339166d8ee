"""View-models: the plain data a document template reads.

Documents are rendered from these frozen dataclasses, never from live ORM objects, so
the same data always gives the same bytes and a test can build a document without a
database. A field that is ``None`` or empty renders as a blank line to fill in by hand
(paper signing). ``cache_key()`` is the SHA-256 of the canonical JSON of the data, for
"render once, reuse" caches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import date

from registry.packs import Pack

DECLARATION_KINDS = ("structural", "incidental")
CONSENT_SIGNERS = ("resident", "parents", "resident_and_parents")


def _canonical_json(obj) -> str:
    """Stable JSON of a dataclass: sorted keys, ISO dates, no whitespace, type name first."""
    payload = {"type": type(obj).__name__, "data": dataclasses.asdict(obj)}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_json_default)


def _json_default(value):
    """Dates as ISO strings; anything else is a programming error."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable in a view-model: {value!r}")


def _require_date(name: str, value) -> None:
    """Dates must be ``datetime.date`` (or None): strings would format inconsistently."""
    if value is not None and not isinstance(value, date):
        raise TypeError(f"{name} must be a datetime.date or None, not {type(value).__name__}")


def _as_tuple(obj, *names: str) -> None:
    """Freeze list fields into tuples so view-models stay hashable and immutable."""
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, tuple):
            object.__setattr__(obj, name, tuple(value))


def cache_key_of(obj) -> str:
    """SHA-256 (hex) of the canonical JSON of any frozen dataclass (nested ones included):
    the document cache's key for view-models without the mixin (a meeting check)."""
    return hashlib.sha256(_canonical_json(obj).encode("utf-8")).hexdigest()


class _CacheKeyMixin:
    """Adds ``cache_key()`` to a view-model dataclass."""

    def cache_key(self) -> str:
        """SHA-256 (hex) of the canonical JSON of this view-model."""
        return cache_key_of(self)


@dataclass(frozen=True)
class Party(_CacheKeyMixin):
    """A covenant partner (*Convenantpartner*) and who signs for it (*vertegenwoordigd
    door*); ``signed_on`` is None until signed."""

    organisation: str
    representative: str
    signed_on: date | None = None
    mandate: str | None = None
    """Signed *met mandaat* (of whom or what); "" without; None: not recorded, the pack's
    ``[covenant] mandate`` decides (a blank form)."""

    def __post_init__(self):
        _require_date("signed_on", self.signed_on)


@dataclass(frozen=True)
class CaseTable(_CacheKeyMixin):
    """A case table (*casustafel*) of one area (*gebied*) with its chair (*voorzitter*)
    and coordinator (*coördinator*); empty names are left blank on the document."""

    area: str
    short_name: str = ""
    chair: str = ""
    coordinator: str = ""


@dataclass(frozen=True)
class Area(_CacheKeyMixin):
    """An area (*gebied*, art. 1) of the covenant; ``short_name`` as the text names it."""

    name: str
    short_name: str = ""


@dataclass(frozen=True)
class RecipientLine(_CacheKeyMixin):
    """A line of the consent form's recipients: a partner of the covenant, or a fixed
    line of the pack ("Mijn huisarts"); ``choices`` are alternatives to strike through."""

    label: str
    choices: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self):
        _as_tuple(self, "choices")

    def names(self) -> tuple[str, ...]:
        """The names this line stands for when ticked."""
        if not self.choices:
            return (self.label,)
        return tuple(f"{self.label} {choice}" for choice in self.choices)


@dataclass(frozen=True)
class CovenantDoc(_CacheKeyMixin):
    """The covenant (*Convenant Samenwerking Casustafel*) with its parties and tables."""

    title: str
    region: str
    municipality: str
    pack: str
    version: str
    parties: tuple[Party, ...]
    tables: tuple[CaseTable, ...]
    table_role_organisations: tuple[str, ...] = ()
    in_force_on: date | None = None
    chair_model: str = ""
    """The chosen chair model (one of the pack's ``chair_models``); "" prints them all to tick."""
    areas: tuple[Area, ...] = ()
    """The covenant's own areas (art. 1); empty: the pack's."""
    consent_recipients: tuple[RecipientLine, ...] = ()
    """The recipient lines of its Bijlage 4 (partners + the pack's fixed lines); empty: the pack's."""
    text_version: int = 1
    """The version of the covenant's text (1 as first signed; each amendment, art. 13, the next)."""
    amendment_summary: str = ""
    """What the amendment that made this version changed ("" for version 1)."""
    signature_pages: str = ""
    """In the sealed copy: the pointer printed in each signed partner's signature cell to
    the signature pages after the text ("" in the document that is signed)."""

    def __post_init__(self):
        _as_tuple(self, "parties", "tables", "table_role_organisations", "areas", "consent_recipients")
        _require_date("in_force_on", self.in_force_on)

    def last_signed_on(self) -> date | None:
        """The latest signing date among the parties, or None if nobody signed."""
        dates = [p.signed_on for p in self.parties if p.signed_on]
        return max(dates) if dates else None


@dataclass(frozen=True)
class DeclarationDoc(_CacheKeyMixin):
    """A confidentiality declaration (*Verklaring geheimhouding*): Bijlage 1 for a
    structural participant (*deelnemer*), Bijlage 2 for an incidental participant
    (*incidentele deelnemer*) for one case (``case_ref``). Empty fields print as
    dotted lines for paper signing."""

    kind: str
    table_name: str = ""
    person_name: str = ""
    organisation: str = ""
    function: str = ""
    case_ref: str = ""
    signed_on: date | None = None
    place: str = ""
    covenant_title: str = ""
    region: str = ""
    """The covenant's title and region for the running header; empty: the pack's."""

    def __post_init__(self):
        if self.kind not in DECLARATION_KINDS:
            raise ValueError(f"kind must be one of {DECLARATION_KINDS}, not {self.kind!r}")
        _require_date("signed_on", self.signed_on)


@dataclass(frozen=True)
class ConsentDoc(_CacheKeyMixin):
    """The resident's consent to share data (*Toestemmingsformulier
    informatie-uitwisseling*, Bijlage 4): which data ``categories`` (pack keys) may go to
    which ``recipients`` (organisation names from the pack) for which ``purpose``."""

    resident_name: str = ""
    resident_birth_date: date | None = None
    signed_by: str | None = None
    purpose: str = ""
    categories: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    other_recipients: str = ""
    case_ref: str = ""
    table_name: str = ""
    signed_on: date | None = None
    contact_person: str = ""
    """The professional's *contactpersoon* for the resident (blank: a line to fill in)."""
    covenant_title: str = ""
    region: str = ""
    municipality: str = ""
    recipient_lines: tuple[RecipientLine, ...] = ()
    """The covenant's recipient lines; empty (with title, region, municipality): the pack's."""

    def __post_init__(self):
        _as_tuple(self, "categories", "recipients", "recipient_lines")
        if self.signed_by is not None and self.signed_by not in CONSENT_SIGNERS:
            raise ValueError(f"signed_by must be one of {CONSENT_SIGNERS} or None")
        _require_date("resident_birth_date", self.resident_birth_date)
        _require_date("signed_on", self.signed_on)

    def check_against(self, pack: Pack) -> None:
        """Raise ValueError if a category key or recipient is not on the pack's form,
        so a typo cannot silently drop a tick from a legal document."""
        unknown = set(self.categories) - set(pack.category_keys())
        lines = self.recipient_lines or pack_recipient_lines(pack)
        unknown |= set(self.recipients) - {name for line in lines for name in line.names()}
        if unknown:
            raise ValueError(f"not on the consent form of pack {pack.name!r}: {sorted(unknown)}")


def pack_recipient_lines(pack: Pack, fixed_only: bool = False) -> tuple[RecipientLine, ...]:
    """The pack's consent recipient lines (all: the default form; ``fixed_only``: the
    lines that go on every covenant's form besides its partners)."""
    return tuple(RecipientLine(r.label, r.choices, r.note) for r in pack.consent_recipients
                 if r.fixed or not fixed_only)


def pack_areas(pack: Pack) -> tuple[Area, ...]:
    """The pack's default areas."""
    return tuple(Area(a.name, a.short_name) for a in pack.areas)


def with_pack_defaults(vm, pack: Pack):
    """Fill what a view-model leaves empty from the pack (title, region, municipality,
    areas, recipient lines), so templates read everything from ``doc``."""
    if isinstance(vm, CovenantDoc):
        return dataclasses.replace(
            vm, municipality=vm.municipality or pack.municipality, region=vm.region or pack.region,
            areas=vm.areas or pack_areas(pack),
            consent_recipients=vm.consent_recipients or pack_recipient_lines(pack))
    if isinstance(vm, DeclarationDoc):
        return dataclasses.replace(vm, covenant_title=vm.covenant_title or pack.title,
                                   region=vm.region or pack.region)
    if isinstance(vm, ConsentDoc):
        return dataclasses.replace(
            vm, covenant_title=vm.covenant_title or pack.title, region=vm.region or pack.region,
            municipality=vm.municipality or pack.municipality,
            recipient_lines=vm.recipient_lines or pack_recipient_lines(pack))
    return vm


def covenant_from_pack(pack: Pack, parties: tuple[Party, ...] | None = None,
                       in_force_on: date | None = None,
                       tables: tuple[CaseTable, ...] | None = None) -> CovenantDoc:
    """A covenant view-model with the pack's texts; by default its founding partners
    (unsigned) and one table per area without named chair or coordinator."""
    if parties is None:
        parties = tuple(Party(p.organisation, p.representative) for p in pack.founding_partners)
    if tables is None:
        tables = tuple(CaseTable(a.name, a.short_name) for a in pack.areas)
    return CovenantDoc(
        title=pack.title, region=pack.region, municipality=pack.municipality,
        pack=pack.name, version=pack.version, parties=tuple(parties), tables=tuple(tables),
        table_role_organisations=tuple(r.text_name for r in pack.table_roles),
        in_force_on=in_force_on, areas=pack_areas(pack), consent_recipients=pack_recipient_lines(pack))
