"""Template packs: one folder per covenant with its texts, styles, fonts and manifest.

A pack (*sjabloonpakket*) is data, not code: a folder under the packs directory holding
``pack.toml`` (terms, areas, partners, consent lists), Jinja HTML documents, one CSS file,
a DOCX template and the fonts the PDFs embed. The code never knows which municipality a
pack belongs to; a new region brings a new folder.

The packs directory is, in order of precedence: the ``packs_dir`` argument, the
environment variable ``TEMPLATE_PACKS_DIR``, the repository's top-level ``templates/``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from registry.texts import N_, _

MANIFEST = "pack.toml"
ENV_PACKS_DIR = "TEMPLATE_PACKS_DIR"

# The repository's own packs (resolved once: resolving a path costs file-system calls).
_DEFAULT_PACKS_DIR = Path(__file__).resolve().parents[1] / "templates"

# A pack name is a single folder name: no separators, no "..", no hidden folders.
_PACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class PackError(Exception):
    """A template pack is missing, misnamed or has an invalid manifest."""


class UnknownPackError(PackError, LookupError):
    """No pack of that name exists in the packs directory."""


@dataclass(frozen=True)
class Term:
    """Duration rules of the covenant (*looptijd*, art. 13): initial term, tacit
    renewal (*stilzwijgende verlenging*) and notice period (*opzegtermijn*)."""

    initial_years: int
    renewal_years: int
    notice_months: int
    ends_on: dt.date | None = None
    """A fixed last day in force (inclusive), e.g. an *intentieverklaring* "tot en met
    31-12-2018"; with it there is no tacit renewal."""

    def __post_init__(self):
        for name in ("initial_years", "renewal_years", "notice_months"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise TypeError(f"[term] {name} must be a whole number of 0 or more, not {value!r}")
        if self.initial_years < 1:
            raise TypeError("[term] initial_years must be at least 1")
        if self.ends_on is not None and (not isinstance(self.ends_on, dt.date) or isinstance(self.ends_on, dt.datetime)):
            raise TypeError(f"[term] ends_on must be a date (YYYY-MM-DD), not {self.ends_on!r}")

    @property
    def renews(self) -> bool:
        """Renewed tacitly (*stilzwijgend verlengd*): renewal years and no fixed end."""
        return self.renewal_years > 0 and self.ends_on is None


ANNEX_KINDS = ("structural_declaration", "incidental_declaration", "consent", "text")


@dataclass(frozen=True)
class Annex:
    """An annex (*bijlage*) of the covenant: a stable ``key`` for URLs ("bijlage5"), the
    printed ``number`` ("Bijlage 5"), its ``title``, what it is (``kind``) and, for a form,
    the pack's standalone template."""

    key: str
    number: str
    title: str
    kind: str
    template: str | None = None


@dataclass(frozen=True)
class ConsentSignerBand:
    """Who signs a consent at an age on the signing date (Jeugdwet / WGBO): residents
    younger than ``below_age`` (None: any age from the band before) need ``signers``."""

    below_age: int | None
    signers: tuple[str, ...]


@dataclass(frozen=True)
class TableRole:
    """A role every table has (*voorzitter*, *coördinator*, *procesregisseur*), optionally
    only from ``organisations``; ``text_name`` is how the covenant text names them."""

    key: str
    label: str
    organisations: tuple[str, ...] = ()
    text_name: str = ""


@dataclass(frozen=True)
class CaseParticipantRole:
    """Someone who takes part in their own case without a declaration (e.g. *ouder met
    gezag*, *jongere* from ``min_age``)."""

    key: str
    label: str
    min_age: int | None = None


@dataclass(frozen=True)
class PackArea:
    """An area (*gebied*) with its own case table; ``short_name`` as the text uses it."""

    name: str
    short_name: str


@dataclass(frozen=True)
class TableRoleOrganisation:
    """An organisation that supplies the chair and coordinator (*voorzitter en
    coördinator*) of the tables; ``text_name`` is how the covenant text names it."""

    organisation: str
    text_name: str


@dataclass(frozen=True)
class ConsentCategory:
    """A data category on the consent form (Bijlage 4), e.g. *naam en adresgegevens*."""

    key: str
    label: str


@dataclass(frozen=True)
class ConsentRecipient:
    """An organisation (or a line of alternatives) consent can be given to (Bijlage 4)."""

    label: str
    choices: tuple[str, ...] = ()
    note: str = ""
    fixed: bool = False
    """A fixed line that is no organisation of the covenant ("Mijn huisarts", "De politie"):
    printed on every consent form of the pack. Lines that are not fixed are the pack's
    default recipients, printed only where no covenant supplies its partners."""

    def names(self) -> tuple[str, ...]:
        """The organisation names this line stands for, as stored in a consent."""
        if not self.choices:
            return (self.label,)
        return tuple(f"{self.label} {choice}" for choice in self.choices)


@dataclass(frozen=True)
class FoundingPartner:
    """A partner listed in the covenant as sent for signing, with its representative
    (*vertegenwoordigd door*)."""

    organisation: str
    representative: str


PHASE_AUDIENCES = ("bringer", "procesregisseur", "chair", "coordinator", "participants")
"""Who a phase may show a case to: the registering partner (*aanmelder*), the case's
procesregisseur, the table's chair and coordinator, the case's participants."""

DEADLINE_KINDS = ("due", "not_before")
"""A phase deadline is a latest date (*uiterlijk*) or an earliest date (*op zijn vroegst*)."""

LEGAL_BASES = ("consent", "shared_professional_secrecy", "statutory_task")
"""How a table may share special data: on the resident's consent (AVG art. 9 lid 2a),
under shared professional secrecy (art. 458ter Strafwetboek, Belgium) or on each
partner's own statutory task (AVG art. 6 lid 1 sub e; Zorg- en Veiligheidshuis). Only
``consent`` uses consent forms."""

RETENTION_ANCHORS = ("closed", "evaluated")
"""When a case's retention clock starts, besides ``phase:<key>`` (entering a phase)."""


@dataclass(frozen=True)
class PhaseDeadline:
    """A term counted from the day a case entered a phase: ``due`` at the latest,
    ``not_before`` at the earliest (e.g. "terug aan de expertentafel binnen 6 maanden")."""

    months: int
    kind: str
    label: str


@dataclass(frozen=True)
class Phase:
    """A phase of a case (*fase*): who may see the case while it is in it, and its terms."""

    key: str
    label: str
    visible_to: tuple[str, ...]
    deadlines: tuple[PhaseDeadline, ...] = ()


@dataclass(frozen=True)
class CaseRole:
    """The role of a participant in one case (ZVH: *expert*, *informant*, *uitvoerder*).
    ``ad_hoc``: someone of a non-partner joins only this case, with the pack's
    incidental confidentiality declaration for it (Neteland: *ad-hocpartner*)."""

    key: str
    label: str
    ad_hoc: bool = False


@dataclass(frozen=True)
class Track:
    """A track a case follows (Neteland: *spoor* 1, 2, 3)."""

    key: str
    label: str


@dataclass(frozen=True)
class Retention:
    """Staged retention (*bewaartermijnen*): from ``anchor`` (``closed``, ``evaluated`` or
    ``phase:<key>``) the case is archived after ``archive_after_months`` (None: no archive
    stage) and deleted after ``delete_after_months``; an exception's review date lies at
    most ``exception_max_months`` ahead."""

    anchor: str = "closed"
    archive_after_months: int | None = None
    delete_after_months: int = 12
    exception_max_months: int = 6


@dataclass(frozen=True)
class CaseRules:
    """How a pack's cases share information: ``legal_basis`` (one of :data:`LEGAL_BASES`)
    with its Dutch ``legal_basis_label``, an optional ``min_age`` of the resident, and
    whether each case has a procesregisseur (and what the pack calls one)."""

    legal_basis: str = "consent"
    legal_basis_label: str = "toestemming van de inwoner"
    min_age: int | None = None
    procesregisseur: bool = False
    procesregisseur_label: str = "procesregisseur"


DEFAULT_PHASES = (Phase("open", "Lopend", PHASE_AUDIENCES),)
"""The one phase of a pack that defines none: the case is visible to everyone involved."""


@dataclass(frozen=True)
class Pack:
    """A loaded template pack: manifest values plus the folder it lives in."""

    name: str
    title: str
    region: str
    municipality: str
    version: str
    language: str
    path: Path
    documents: tuple[tuple[str, str], ...]
    term: Term
    areas: tuple[PackArea, ...]
    table_roles: tuple[TableRoleOrganisation, ...]
    consent_categories: tuple[ConsentCategory, ...]
    consent_recipients: tuple[ConsentRecipient, ...]
    founding_partners: tuple[FoundingPartner, ...]
    meeting_themes: tuple[str, ...]
    age_bands: tuple[str, ...]
    annexes: tuple[Annex, ...] = ()
    consent_signers: tuple[ConsentSignerBand, ...] = ()
    roles: tuple[TableRole, ...] = ()
    case_participants: tuple[CaseParticipantRole, ...] = ()
    meetings_on_request: bool = False
    chair_models: tuple[str, ...] = ()
    mandate: bool = False
    phases: tuple[Phase, ...] = DEFAULT_PHASES
    case_roles: tuple[CaseRole, ...] = ()
    tracks: tuple[Track, ...] = ()
    retention: Retention = Retention()
    case_rules: CaseRules = CaseRules()
    settings: dict = field(default_factory=dict, compare=False, hash=False)

    def document(self, kind: str) -> str:
        """File name of the document template registered under ``kind`` in the manifest."""
        for key, filename in self.documents:
            if key == kind:
                return filename
        raise PackError(f"pack {self.name!r} has no document {kind!r}")

    def phase(self, key: str | None) -> Phase | None:
        """The phase called ``key``, or None."""
        return next((p for p in self.phases if p.key == key), None)

    def case_role(self, key: str | None) -> CaseRole | None:
        """The case role called ``key``, or None."""
        return next((r for r in self.case_roles if r.key == key), None)

    def recipient_names(self) -> tuple[str, ...]:
        """Every organisation name a consent (Bijlage 4) may list as recipient."""
        return tuple(n for recipient in self.consent_recipients for n in recipient.names())

    def category_keys(self) -> tuple[str, ...]:
        """Keys of the data categories on the consent form, in form order."""
        return tuple(category.key for category in self.consent_categories)


def packs_dir(override: str | os.PathLike | None = None) -> Path:
    """The folder that holds the packs: argument, else ``$TEMPLATE_PACKS_DIR``, else
    the repository's ``templates/``."""
    if override is not None:
        return Path(override)
    from_env = os.environ.get(ENV_PACKS_DIR)
    if from_env:
        return Path(from_env)
    return _DEFAULT_PACKS_DIR


def list_packs(packs_dir_override: str | os.PathLike | None = None) -> list[str]:
    """Names of all packs (folders with a ``pack.toml``), sorted."""
    root = packs_dir(packs_dir_override)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and _PACK_NAME.match(p.name) and (p / MANIFEST).is_file())


def load_pack(name: str, packs_dir_override: str | os.PathLike | None = None) -> Pack:
    """Load the pack called ``name``; raise :class:`UnknownPackError` if there is none.

    Names are single folder names: anything with a path separator or ``..`` is refused
    before the file system is touched, so a name from a web form cannot escape the
    packs directory.
    """
    if not isinstance(name, str) or not _PACK_NAME.match(name):
        raise UnknownPackError(f"invalid pack name {name!r}: use letters, digits, - and _")
    folder = packs_dir(packs_dir_override) / name
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise UnknownPackError(f"unknown template pack {name!r} (no {manifest})")
    with manifest.open("rb") as fh:
        data = tomllib.load(fh)
    return _pack_from_manifest(data, folder.resolve())


def _pack_from_manifest(data: dict, folder: Path) -> Pack:
    """Build a :class:`Pack` from parsed TOML, with a clear error for missing keys."""
    try:
        return Pack(
            name=data["name"],
            title=data["title"],
            region=data["region"],
            municipality=data["municipality"],
            version=str(data.get("version", "")),
            language=data.get("language", "nl"),
            path=folder,
            documents=tuple(sorted(data.get("documents", {}).items())),
            term=Term(**data["term"]),
            areas=tuple(PackArea(a["name"], a.get("short_name", a["name"]))
                        for a in data.get("areas", [])),
            table_roles=tuple(TableRoleOrganisation(org, r.get("text_name", org))
                              for r in data.get("table_roles", [])
                              for org in (r.get("organisations") or [r["organisation"]])[:1]),
            roles=tuple(TableRole(r["key"], r["label"], tuple(r.get("organisations", ())), r.get("text_name", ""))
                        for r in data.get("table_roles", []) if "key" in r),
            annexes=tuple(Annex(a["key"], a["number"], a["title"], a["kind"], a.get("template"))
                          for a in data.get("annexes", [])),
            consent_signers=tuple(ConsentSignerBand(b.get("below_age"), tuple(b["signers"]))
                                  for b in data.get("consent_signers", [])),
            case_participants=tuple(CaseParticipantRole(c["key"], c["label"], c.get("min_age"))
                                    for c in data.get("case_participants", [])),
            meetings_on_request=bool(data.get("meetings", {}).get("on_request", False)),
            chair_models=tuple(data.get("covenant", {}).get("chair_models", ())),
            mandate=bool(data.get("covenant", {}).get("mandate", False)),
            phases=_phases(data.get("phases")),
            case_roles=tuple(CaseRole(r["key"], r["label"], bool(r.get("ad_hoc", False)))
                             for r in data.get("case_roles", [])),
            tracks=tuple(Track(str(t["key"]), t["label"]) for t in data.get("tracks", [])),
            retention=_retention(data.get("retention", {})),
            case_rules=_case_rules(data.get("cases", {})),
            settings=data,
            consent_categories=tuple(ConsentCategory(c["key"], c["label"])
                                     for c in data.get("consent_categories", [])),
            consent_recipients=tuple(ConsentRecipient(r["label"], tuple(r.get("choices", ())),
                                                      r.get("note", ""), bool(r.get("fixed", False)))
                                     for r in data.get("consent_recipients", [])),
            founding_partners=tuple(FoundingPartner(p["organisation"], p["representative"])
                                    for p in data.get("founding_partners", [])),
            meeting_themes=tuple(data.get("meetings", {}).get("themes", ())),
            age_bands=tuple(data.get("meetings", {}).get("age_bands", ())),
        )
    except (KeyError, TypeError) as exc:
        raise PackError(f"invalid {MANIFEST} in {folder}: {exc!r}") from exc


def _phases(items: list | None) -> tuple[Phase, ...]:
    """The ``[[phases]]`` of a manifest (checked), or the one default phase."""
    if not items:
        return DEFAULT_PHASES
    phases = []
    for item in items:
        audiences = tuple(item.get("visible_to", PHASE_AUDIENCES))
        unknown = set(audiences) - set(PHASE_AUDIENCES)
        if unknown or not re.fullmatch(r"[a-z0-9_]+", item["key"]):
            raise KeyError(f"phase {item['key']!r}: unknown audience {sorted(unknown)} or bad key")
        deadlines = tuple(PhaseDeadline(int(d["months"]), d.get("kind", "due"), d["label"])
                          for d in item.get("deadlines", []))
        if any(d.kind not in DEADLINE_KINDS or d.months < 0 for d in deadlines):
            raise KeyError(f"phase {item['key']!r}: deadline kind must be one of {DEADLINE_KINDS}")
        phases.append(Phase(item["key"], item["label"], audiences, deadlines))
    if len({p.key for p in phases}) != len(phases):
        raise KeyError("phase keys must be unique")
    return tuple(phases)


def _retention(data: dict) -> Retention:
    """The ``[retention]`` table of a manifest, checked."""
    retention = Retention(anchor=data.get("from", "closed"),
                          archive_after_months=data.get("archive_after_months"),
                          delete_after_months=int(data.get("delete_after_months", 12)),
                          exception_max_months=int(data.get("exception_max_months", 6)))
    if retention.anchor not in RETENTION_ANCHORS and not retention.anchor.startswith("phase:"):
        raise KeyError(f"retention.from must be one of {RETENTION_ANCHORS} or phase:<key>")
    if retention.archive_after_months is not None and retention.archive_after_months > retention.delete_after_months:
        raise KeyError("retention.archive_after_months after delete_after_months")
    return retention


def _case_rules(data: dict) -> CaseRules:
    """The ``[cases]`` table of a manifest, checked."""
    rules = CaseRules(**{k: v for k, v in data.items() if k in CaseRules.__dataclass_fields__})
    if rules.legal_basis not in LEGAL_BASES:
        raise KeyError(f"cases.legal_basis must be one of {LEGAL_BASES}")
    if "legal_basis_label" not in data:
        rules = CaseRules(**{**rules.__dict__, "legal_basis_label": LEGAL_BASIS_LABELS[rules.legal_basis]})
    return rules


# ----------------------------------------------------------------------------- packs as rules

DEFAULT_TERM = Term(initial_years=3, renewal_years=1, notice_months=3)
"""The term of a covenant whose pack is missing: three years, renewed by one, three months' notice."""

_CACHE: dict[str, tuple[tuple[int, int], Pack]] = {}


def cached_pack(name: str | None) -> Pack | None:
    """The pack called ``name`` as the rules need it, or None when there is no such pack.

    Loaded once per manifest: the cache key is the manifest's path with its modification
    time and size, so a pack copied into ``$TEMPLATE_PACKS_DIR`` and edited there is read
    again at the next question, and a check costs one ``stat`` instead of a TOML parse.
    A missing or invalid pack is None (callers fall back to the defaults).
    """
    key = _manifest_path(os.environ.get(ENV_PACKS_DIR), name)
    if key is None:
        return None
    try:
        stat = os.stat(key)
    except OSError:
        return None
    version = (stat.st_mtime_ns, stat.st_size)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    manifest = Path(key)
    folder = manifest.parent
    try:
        with manifest.open("rb") as fh:
            pack = _pack_from_manifest(tomllib.load(fh), folder.resolve())
    except (OSError, tomllib.TOMLDecodeError, PackError):
        return None
    _CACHE[key] = (version, pack)
    return pack


@functools.lru_cache(maxsize=1024)
def _manifest_path(packs_dir: str | None, name: str | None) -> str | None:
    """Where the manifest of pack ``name`` lives under ``packs_dir`` (None: ours), or None
    for a name that is no pack name; remembered, as every check asks it."""
    if not isinstance(name, str) or not _PACK_NAME.match(name):
        return None
    return os.path.join(packs_dir or str(_DEFAULT_PACKS_DIR), name, MANIFEST)


def term_of(name: str | None) -> Term:
    """The term (*looptijd*) of the pack called ``name``; :data:`DEFAULT_TERM` without one."""
    pack = cached_pack(name)
    return pack.term if pack is not None else DEFAULT_TERM


def annex_number(pack: Pack | None, kind: str) -> str:
    """The printed number ("Bijlage 5") of the pack's annex of ``kind``
    (``structural_declaration``, ``incidental_declaration`` or ``consent``); the Emmen
    numbering when the pack has none of that kind (see :func:`annex_of_kind`)."""
    return annex_of_kind(pack, kind).number


CHAIR_MODEL_LABELS = {"independent": N_("Onafhankelijk voorzitterschap"), "fixed": N_("Vast voorzitterschap"),
                      "rotating": N_("Roulerend voorzitterschap")}
"""Dutch names of the chair models a pack may offer (the key itself for any other)."""


def chair_model_options(name: str | None) -> list[tuple[str, str]]:
    """The pack's chair models as (key, Dutch label) pairs, for a form's choices."""
    return [(model, _(CHAIR_MODEL_LABELS[model]) if model in CHAIR_MODEL_LABELS else model)
            for model in chair_model_choices(name)]


def chair_model_choices(name: str | None) -> tuple[str, ...]:
    """The chair models (*voorzitterschap*) a covenant of this pack may choose; empty when
    the pack has none (then the covenant has no chair model)."""
    pack = cached_pack(name)
    return pack.chair_models if pack is not None else ()


# ----------------------------------------------------------------------------- legal basis (issue 10 §1)

CONSENT = "consent"
SHARED_PROFESSIONAL_SECRECY = "shared_professional_secrecy"
STATUTORY_TASK = "statutory_task"
LEGAL_BASIS_LABELS = {CONSENT: "toestemming van de inwoner",
                      SHARED_PROFESSIONAL_SECRECY: "gedeeld beroepsgeheim",
                      STATUTORY_TASK: "de wettelijke taak van de partners"}
"""Default Dutch labels of the legal bases a pack's ``[cases] legal_basis`` may state."""


def legal_basis(pack: Pack | None) -> str:
    """How information is shared at the pack's tables: ``consent`` (the default: special
    data only with a valid consent), ``shared_professional_secrecy`` (art. 458ter Sw.) or
    ``statutory_task`` (AVG art. 6 lid 1 sub e) — the last two without consent forms. The pack's ``[cases] legal_basis`` (:class:`CaseRules`)."""
    return pack.case_rules.legal_basis if pack is not None else CONSENT


def legal_basis_label(pack: Pack | None) -> str:
    """The Dutch name of the legal basis, as the chair's check prints it, e.g.
    "gedeeld beroepsgeheim (art. 458ter Sw.)"."""
    return pack.case_rules.legal_basis_label if pack is not None else LEGAL_BASIS_LABELS[CONSENT]


def consent_applies(pack: Pack | None) -> bool:
    """Is a resident's consent the basis for sharing at this pack's tables? (No pack: yes.)"""
    return legal_basis(pack) == CONSENT


def pack_summary(pack: Pack) -> dict:
    """What a pack decides, as plain JSON-ready data (``GET /api/v1/packs``)."""
    term = pack.term
    return {
        "name": pack.name,
        "title": pack.title,
        "region": pack.region,
        "term": {
            "initial_years": term.initial_years, "renewal_years": term.renewal_years,
            "notice_months": term.notice_months, "ends_on": term.ends_on.isoformat() if term.ends_on else None,
        },
        "annexes": [{"key": a.key, "number": a.number, "title": a.title, "kind": a.kind} for a in pack.annexes],
        "areas": [a.name for a in pack.areas],
        "consent_categories": [{"key": c.key, "label": c.label} for c in pack.consent_categories],
        "consent_signers": [{"below_age": b.below_age, "signers": list(b.signers)} for b in pack.consent_signers],
        "table_roles": [{"key": r.key, "label": r.label, "organisations": list(r.organisations)} for r in pack.roles],
        "phases": [{"key": p.key, "label": p.label} for p in pack.phases],
        "legal_basis": pack.case_rules.legal_basis,
        "min_age": pack.case_rules.min_age,
        "retention": {
            "from": pack.retention.anchor, "archive_after_months": pack.retention.archive_after_months,
            "delete_after_months": pack.retention.delete_after_months,
            "exception_max_months": pack.retention.exception_max_months,
        },
    }


def pack_summaries() -> list[dict]:
    """:func:`pack_summary` of every pack in the packs directory, by name; a pack whose
    manifest does not load is left out."""
    found = []
    for name in list_packs():
        pack = cached_pack(name)
        if pack is not None:
            found.append(pack_summary(pack))
    return found


# ----------------------------------------------------------------------------- annexes by key

FORM_KINDS = {"structural_declaration": "declaration_structural",
              "incidental_declaration": "declaration_incidental",
              "consent": "consent"}
"""Annex kinds that are forms, with the manifest document each renders by default."""

_DEFAULT_ANNEXES = (
    Annex("bijlage1", "Bijlage 1", "Verklaring geheimhouding deelnemer", "structural_declaration"),
    Annex("bijlage2", "Bijlage 2", "Verklaring geheimhouding incidentele deelnemer", "incidental_declaration"),
    Annex("bijlage4", "Bijlage 4", "Toestemmingsformulier", "consent"),
)


def pack_annexes(pack: Pack) -> tuple[Annex, ...]:
    """The pack's annexes in covenant order; a pack without ``[[annexes]]`` gets the
    three forms of the first packs (keys ``bijlage1``, ``bijlage2``, ``bijlage4``)."""
    return pack.annexes or _DEFAULT_ANNEXES


def form_annexes(pack: Pack) -> tuple[Annex, ...]:
    """The annexes that are forms (declarations and the consent), in covenant order; a
    pack whose legal basis is not consent (:func:`consent_applies`) offers no consent form."""
    consent = consent_applies(pack)
    return tuple(a for a in pack_annexes(pack) if a.kind in FORM_KINDS and (consent or a.kind != "consent"))


def form_annex(pack: Pack, key: str) -> Annex | None:
    """The form annex with this key, or None."""
    return next((a for a in form_annexes(pack) if a.key == key), None)


def annex_of_kind(pack: Pack | None, kind: str) -> Annex:
    """The pack's annex of a form kind (``structural_declaration``, ``consent``, ...);
    without a pack (or without such an annex) the default one."""
    for annex in form_annexes(pack) if pack is not None else ():
        if annex.kind == kind:
            return annex
    return next(a for a in _DEFAULT_ANNEXES if a.kind == kind)


def annex_document(pack: Pack, annex: Annex) -> str:
    """The template a form annex renders: its own ``template``, else the manifest's
    document of its kind."""
    return annex.template or FORM_KINDS[annex.kind]


def annex_heading(annex: Annex) -> str:
    """"Bijlage 5 — Toestemmingsformulier": the number and title as pages and mails say it."""
    return f"{annex.number} — {annex.title}"


def role_allows(role: TableRole, organisation_name: str) -> bool:
    """May someone of this organisation hold the role? Yes when the role names no
    organisations, else when the name is one of them (case and spacing ignored)."""
    if not role.organisations:
        return True
    folded = " ".join(organisation_name.split()).casefold()
    return any(" ".join(o.split()).casefold() == folded for o in role.organisations)


def default_municipality(pack: Pack, region: str) -> str:
    """The municipality of a covenant drafted for ``region`` from ``pack``: the pack's
    own when the region is the pack's, else "gemeente <region>"."""
    region = (region or "").strip()
    if region.casefold() == pack.region.casefold():
        return pack.municipality
    return f"gemeente {region}"
