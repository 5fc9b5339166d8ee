"""The entitlement rules of the covenant, as pure functions over plain facts.

This is the one place that decides who may join a casustafel on a date. Sources
(``shared/design.md`` section 2, the Emmen covenant, consideration 9-12, art. 2, 3, 6, 13):

- An organisation participates structurally only after its representative signed the
  covenant; it is a partner from ``max(signed_on, in_force_on)``.
- A person participates structurally only while their organisation is a partner, they
  are employed there and they signed Bijlage 1 for *this* table.
- Anyone else joins one case only, after signing Bijlage 2 for that table and case.
- Notice on D ends the partnership on D + the pack's notice months (exclusive);
  immediate termination and exclusion dated D end it on D. A signature dated D grants
  from D. An excluded partner's people are not entitled through a Bijlage 2 either.
- The covenant's term comes from its template pack: ``initial_years``, then tacit renewal
  by ``renewal_years`` (0: none, the covenant ends after the initial years) or a fixed
  last day ``ends_on`` (inclusive).

Every decision carries its reasons: a stable machine ``code`` and a Dutch ``text`` with
the dates that matter. A denial names every missing condition, not only the first.
Nothing here touches the database or Flask; :mod:`registry.queries` loads the facts.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from registry import texts
from registry.texts import N_, _

STRUCTURAL = "structural"
INCIDENTAL = "incidental"


# ----------------------------------------------------------------------------- results

# Results and facts are named tuples: immutable and hashable (the memo below keys on
# them), compared by value, and several times cheaper to make than frozen dataclasses —
# one table's entitlement makes a few of each for every one of its hundreds of people.


class Reason(NamedTuple):
    """One explained condition: ``code`` is stable for machines, ``text`` is Dutch."""

    code: str
    text: str

    def as_dict(self) -> dict[str, str]:
        """JSON shape used by the API: ``{"code", "text"}``."""
        return {"code": self.code, "text": self.text}


class Decision(NamedTuple):
    """The answer to 'may this organisation/person join, on this date?'.

    ``reasons`` are the conditions that carry the answer: the met ones when allowed,
    every unmet one when denied. ``warnings`` are facts a coordinator should act on
    even when allowed (for example notice already given).
    """

    allowed: bool
    basis: str | None = None
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()


# ----------------------------------------------------------------------------- facts


class CovenantFacts(NamedTuple):
    """What the rules need to know about a covenant: its dates, its term and the printed
    numbers of its annexes (all from its template pack; the defaults are Emmen's)."""

    id: int
    title: str
    in_force_on: dt.date | None
    ended_on: dt.date | None = None
    initial_years: int = 3
    renewal_years: int = 1
    ends_on: dt.date | None = None
    """The fixed last day in force (inclusive) of the pack's term, if it has one."""
    structural_annex: str = "Bijlage 1"
    incidental_annex: str = "Bijlage 2"
    consent_annex: str = "Bijlage 4"

    def annex(self, kind: str) -> str:
        """The printed number of the declaration of ``kind`` (structural or incidental)."""
        return self.structural_annex if kind == STRUCTURAL else self.incidental_annex


class PartnershipFacts(NamedTuple):
    """An organisation's membership of a covenant (*convenantpartnerschap*)."""

    organisation_id: int
    organisation_name: str
    signed_on: dt.date | None
    founding: bool = True
    notice_given_on: dt.date | None = None
    ends_on: dt.date | None = None
    ended_immediately_on: dt.date | None = None
    excluded_on: dt.date | None = None
    exclusion_reason: str | None = None


class PersonFacts(NamedTuple):
    """A person and the employment that ties them to an organisation."""

    id: int
    name: str
    organisation_id: int
    organisation_name: str
    employed_from: dt.date | None = None
    employed_until: dt.date | None = None


class DeclarationFacts(NamedTuple):
    """A signed or pending Bijlage 1 (structural) or Bijlage 2 (incidental)."""

    id: int
    kind: str
    table_id: int
    table_name: str
    signed_on: dt.date | None
    case_ref: str | None = None
    revoked_on: dt.date | None = None


class CaseFacts(NamedTuple):
    """A case on a table, by its pseudonymous reference."""

    reference: str
    opened_on: dt.date | None = None
    closed_on: dt.date | None = None


class TableFacts(NamedTuple):
    """A casustafel: its id and display name."""

    id: int
    name: str


# ----------------------------------------------------------------------------- dates


def today() -> dt.date:
    """Today's calendar date in Europe/Amsterdam: every registry date is a Dutch date."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()


def iso(day: dt.date | None) -> str:
    """A date in a reason text as people write it: "12 mei 2025" (in the language of the
    request, :mod:`registry.texts`); "?" for none. Codes and API fields stay ISO."""
    return texts.long_date(day) if day else "?"


# ----------------------------------------------------------------------------- input rules


def signing_date_problem(signed_on: dt.date | None, on: dt.date | None = None) -> str | None:
    """Why ``signed_on`` cannot be a signing date, or None: nobody signs after today
    (``on``, default :func:`today`, the Europe/Amsterdam date). The one rule behind every
    form field and API field ``signed_on`` (declarations, consents, covenant partners,
    paper signatures)."""
    on = on or today()
    if signed_on is not None and signed_on > on:
        return (_('De datum van ondertekening (%(value)s) ligt na vandaag (%(value2)s); vul de datum in waarop echt is getekend.', value=iso(signed_on), value2=iso(on)))
    return None


CASE_REFERENCE_HINT = N_("Gebruik een casusnummer, geen naam of adres")
"""The start of every refusal of a case reference that looks like personal data."""

_UPPER, _LOWER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"
_WORD = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)*"
_PARTICLES = r"(?:(?:van|de|der|den|ter|ten|te|het|'t|von|la|le|du|da|di|op|in|el|al|bin)\s+)*"
_NAME = re.compile(rf"(?<![\w-]){_WORD}\s+{_PARTICLES}{_WORD}(?![\w-])")
_INITIALS = re.compile(rf"(?<![\w-])(?:[{_UPPER}]\.\s?)+{_PARTICLES}{_WORD}(?![\w-])")
_STREETS = ("straat", "weg", "laan", "plein", "pad", "dijk", "kade", "gracht", "singel", "dreef", "steeg",
            "markt", "baan", "ring", "wal", "erf", "brink", "allee", "hof", "park", "plantsoen", "dam")
_HOUSE_NUMBER = re.compile(rf"[{_UPPER}{_LOWER}]*(?:{'|'.join(_STREETS)})\s+\d{{1,5}}(?:\s?[a-zA-Z]|-\d+)?(?![\w-])",
                           re.IGNORECASE)
_POSTCODE = re.compile(r"(?:(?<!\w)[1-9]\d{3}\s+|(?<![\w-])[1-9]\d{3})(?!SA|SD|SS)[A-Z]{2}(?![\w-])", re.IGNORECASE)


def case_reference_problem(reference: str | None) -> str | None:
    """Why ``reference`` is not a pseudonymous case reference, or None.

    A case is known only by a number (``EN-2026-007``, ``MDO-1``): a reference with two
    capitalised words (``Jan Jansen``, ``J. de Vries``), a street with a house number
    (``Dorpsstraat 1``) or a postcode (``1234 AB``) names a resident and is refused.
    The one rule for every place a case reference enters (declarations, consents,
    cases, meeting agendas).
    """
    text = (reference or "").strip()
    if not text:
        return None
    if _POSTCODE.search(text):
        return _('%(CASE_REFERENCE_HINT)s: dit lijkt op een postcode.', CASE_REFERENCE_HINT=_(CASE_REFERENCE_HINT))
    if _HOUSE_NUMBER.search(text):
        return _('%(CASE_REFERENCE_HINT)s: dit lijkt op een adres met huisnummer.', CASE_REFERENCE_HINT=_(CASE_REFERENCE_HINT))
    if _NAME.search(text) or _INITIALS.search(text):
        return _('%(CASE_REFERENCE_HINT)s: dit lijkt op een naam.', CASE_REFERENCE_HINT=_(CASE_REFERENCE_HINT))
    return None


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months; a day that does not exist becomes the month's last.

    Notice on 30 November plus three months ends on 28 (or 29) February.
    """
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` plus whole years (29 February becomes 28 February in a common year)."""
    return add_months(day, 12 * years)


def notice_end_date(given_on: dt.date, notice_months: int = 3) -> dt.date:
    """First day on which a partner that gave notice on ``given_on`` is no longer one.

    ``notice_months`` (the pack's ``[term] notice_months``) calendar months later; a day
    that does not exist becomes the month's last: 30 November plus three months is 28 (or
    29) February, plus one month 30 December.
    """
    return add_months(given_on, notice_months)


def renews(covenant: CovenantFacts) -> bool:
    """Does the covenant renew itself tacitly (*stilzwijgend*)? Not with a fixed last day
    (``ends_on``) nor with ``renewal_years`` 0."""
    return covenant.ends_on is None and covenant.renewal_years > 0


def last_day_in_force(covenant: CovenantFacts) -> dt.date | None:
    """The last day the covenant is in force by its term (inclusive), or None when it
    renews itself without end (or is not in force yet).

    A fixed ``ends_on`` is that day; without tacit renewal it is the day before the
    anniversary ``in_force_on + initial_years``.
    """
    if covenant.ends_on is not None:
        return covenant.ends_on
    if covenant.in_force_on is None or covenant.renewal_years > 0:
        return None
    return add_years(covenant.in_force_on, covenant.initial_years) - dt.timedelta(days=1)


_ANNIVERSARIES: dict[tuple[dt.date, int, int], tuple[dt.date, ...]] = {}


def _anniversaries(in_force_on: dt.date, initial_years: int, renewal_years: int, until: dt.date) -> tuple[dt.date, ...]:
    """The first day after the initial term and after each tacit renewal (``renewal_years``
    > 0), in order, at least up to the first one after ``until``. Each is the previous
    plus ``renewal_years`` (:func:`add_years`: a term from 29 February ends on 28 February
    thereafter). Remembered per term and extended only as far as a date asks (a new tuple
    each time, so a reader never sees one half built): every check asks which term its
    date lies in, and working that out again is most of its cost."""
    key = (in_force_on, initial_years, renewal_years)
    known = _ANNIVERSARIES.get(key)
    if known is not None and known[-1] > until:
        return known
    days = list(known or (add_years(in_force_on, initial_years),))
    while days[-1] <= until:
        days.append(add_years(days[-1], renewal_years))
    if len(_ANNIVERSARIES) >= 4096:
        _ANNIVERSARIES.clear()
    _ANNIVERSARIES[key] = known = tuple(days)
    return known


def current_term_end(covenant: CovenantFacts, on: dt.date) -> dt.date | None:
    """Last day of the term (initial or tacitly renewed) that contains ``on``.

    The covenant runs ``initial_years`` from coming into force, then renews itself by
    ``renewal_years`` at a time (*stilzwijgend verlengd*); renewal means no end unless
    the covenant or partnership is ended. Without renewal (or with a fixed ``ends_on``)
    the term ends on :func:`last_day_in_force`, also when ``on`` lies after it.
    """
    if covenant.in_force_on is None or on < covenant.in_force_on:
        return None
    if not renews(covenant):
        return last_day_in_force(covenant)
    days = _anniversaries(covenant.in_force_on, covenant.initial_years, covenant.renewal_years, on)
    return days[bisect.bisect_right(days, on)] - dt.timedelta(days=1)  # the first anniversary after ``on``


def partner_since(covenant: CovenantFacts, partnership: PartnershipFacts) -> dt.date | None:
    """The first day the organisation is a partner: signing date, not before coming into force."""
    if covenant.in_force_on is None or partnership.signed_on is None:
        return None
    return max(partnership.signed_on, covenant.in_force_on)


def partnership_end(partnership: PartnershipFacts) -> tuple[dt.date, str] | None:
    """The first day the organisation is no longer a partner, and why (a reason code)."""
    if partnership.ends_on is None and partnership.ended_immediately_on is None and partnership.excluded_on is None:
        return None  # most partnerships: nothing ended
    ends = []
    if partnership.ends_on is not None:
        ends.append((partnership.ends_on, "notice_ended"))
    if partnership.ended_immediately_on is not None:
        ends.append((partnership.ended_immediately_on, "terminated"))
    if partnership.excluded_on is not None:
        ends.append((partnership.excluded_on, "excluded"))
    return min(ends) if ends else None


# ----------------------------------------------------------------------------- organisations


# Memoised pure functions: the key is the complete set of immutable facts (named
# tuples, and the period a date lies in rather than the date: every date in one term of
# the covenant and one stage of a partnership gets the same answer), never a database
# id, so a result can never be stale — a changed row yields different facts and
# therefore a different key. It spares a meeting
# check of 600 decisions from re-deriving the same covenant and partner answers.
# The language of the texts (registry.texts) is part of the key: the same facts give a
# Dutch reason on a Dutch page and an English one on an English page.
def _memo(function):
    """Memoise ``function`` per language of the reason texts."""

    @functools.lru_cache(maxsize=4096)
    def cached(_language: str, *args, **kwargs):
        return function(*args, **kwargs)

    @functools.wraps(function)
    def memoised(*args, **kwargs):
        return cached(texts.language(), *args, **kwargs)

    memoised.cache_clear = cached.cache_clear
    memoised.cache_info = cached.cache_info
    return memoised


_NOT_IN_FORCE, _BEFORE, _ENDED, _EXPIRED = "not_in_force", "before", "ended", "expired"


@functools.lru_cache(maxsize=4096)
def _covenant_period(covenant: CovenantFacts, on: dt.date) -> str | dt.date:
    """Where ``on`` lies in the covenant's life, which is all its reason depends on: not
    in force at all, before it, after its end or its term, or (a date) in force in the
    term whose last day that is. Dates in the same period get the same answer, so the
    answer is remembered per period, not per date (and this, a pure function of its
    facts, per date: a table's entitlement asks it once for each of its people)."""
    if covenant.in_force_on is None:
        return _NOT_IN_FORCE
    if on < covenant.in_force_on:
        return _BEFORE
    if covenant.ended_on is not None and on >= covenant.ended_on:
        return _ENDED
    last_day = last_day_in_force(covenant)
    if last_day is not None and on > last_day:
        return _EXPIRED
    return current_term_end(covenant, on)


def covenant_reason(covenant: CovenantFacts, on: dt.date) -> tuple[bool, Reason]:
    """Is the covenant itself in force on ``on``? With the reason either way."""
    return _covenant_reason(covenant, _covenant_period(covenant, on))


@_memo
def _covenant_reason(covenant: CovenantFacts, period: str | dt.date) -> tuple[bool, Reason]:
    """:func:`covenant_reason` for a date in ``period`` (:func:`_covenant_period`)."""
    if period == _NOT_IN_FORCE:
        return False, Reason("covenant_not_in_force", _("Het convenant '%(title)s' is nog niet in werking getreden.", title=covenant.title))
    if period == _BEFORE:
        return False, Reason(
            "covenant_not_in_force",
            _('Het convenant treedt pas in werking op %(value)s.', value=iso(covenant.in_force_on)),
        )
    if period == _ENDED:
        return False, Reason("covenant_ended", _('Het convenant is beëindigd per %(value)s.', value=iso(covenant.ended_on)))
    last_day = last_day_in_force(covenant)
    if period == _EXPIRED:
        return False, Reason(
            "covenant_ended",
            _('De looptijd van het convenant is verstreken: het gold tot en met %(value)s en wordt niet stilzwijgend verlengd.', value=iso(last_day)),
        )
    term_end = period
    if last_day is not None:
        suffix = _('looptijd tot en met %(value)s, niet stilzwijgend verlengd', value=iso(last_day))
    elif term_end >= add_years(covenant.in_force_on, covenant.initial_years):
        suffix = _('stilzwijgend verlengd tot en met %(value)s', value=iso(term_end))
    else:
        suffix = (_('looptijd tot en met %(value)s, daarna telkens stilzwijgend verlengd met %(renewal_years)s jaar', value=iso(term_end), renewal_years=covenant.renewal_years))
    return True, Reason(
        "covenant_in_force", _('Convenant in werking sinds %(value)s (%(suffix)s).', value=iso(covenant.in_force_on), suffix=suffix)
    )


def organisation_decision(
    covenant: CovenantFacts, partnership: PartnershipFacts | None, on: dt.date, organisation_name: str = ""
) -> Decision:
    """May this organisation take part structurally on ``on``? (partner or not, and why)."""
    return _organisation_on(covenant, partnership, on, _covenant_period(covenant, on), organisation_name)


def _organisation_on(
    covenant: CovenantFacts, partnership: PartnershipFacts | None, on: dt.date, period: str | dt.date,
    organisation_name: str,
) -> Decision:
    """:func:`organisation_decision` with the covenant's ``period`` on ``on`` already known."""
    if partnership is None:
        return _organisation_decision(covenant, None, period, organisation_name, ())
    end = partnership_end(partnership)
    stage = (  # what the answer reads from ``on``: before signing, after the end, after notice
        partnership.signed_on is not None and on < partnership.signed_on,
        end is not None and on >= end[0],
        partnership.notice_given_on is not None and on >= partnership.notice_given_on,
    )
    return _organisation_decision(covenant, partnership, period, "", stage)


@_memo
def _organisation_decision(
    covenant: CovenantFacts, partnership: PartnershipFacts | None, period: str | dt.date, organisation_name: str,
    stage: tuple[bool, ...],
) -> Decision:
    """:func:`organisation_decision` for a date in the covenant's ``period`` and the
    partnership's ``stage``: the same answer for every such date, remembered once."""
    name = partnership.organisation_name if partnership else organisation_name
    failures: list[Reason] = []
    warnings: list[Reason] = []
    in_force, covenant_why = _covenant_reason(covenant, period)
    if not in_force:
        failures.append(covenant_why)
    if partnership is None:
        failures.append(Reason("not_partner", _('%(name)s is geen convenantpartner.', name=name)))
        return Decision(False, None, tuple(failures))
    signed_later, ended, notice_given = stage
    if partnership.signed_on is None:
        failures.append(Reason("covenant_not_signed", _('%(name)s heeft het convenant (nog) niet ondertekend.', name=name)))
    elif signed_later:
        failures.append(
            Reason("covenant_signed_later", _('%(name)s ondertekent het convenant pas op %(value)s.', name=name, value=iso(partnership.signed_on)))
        )
    if ended:
        failures.append(_end_reason(partnership, partnership_end(partnership)))
    elif notice_given and partnership.ends_on is not None:
        warnings.append(
            Reason(
                "notice_given",
                _('%(name)s heeft op %(value)s opgezegd; het partnerschap eindigt op %(value2)s.', name=name, value=iso(partnership.notice_given_on), value2=iso(partnership.ends_on)),
            )
        )
    if failures:
        return Decision(False, None, tuple(failures), tuple(warnings))
    since = partner_since(covenant, partnership)
    how = _("toegetreden") if not partnership.founding else _("ondertekend")
    return Decision(
        True,
        STRUCTURAL,
        (
            Reason(
                "partner",
                _('%(name)s is convenantpartner sinds %(value)s (convenant %(how)s op %(value2)s).', name=name, value=iso(since), how=how, value2=iso(partnership.signed_on)),
            ),
            covenant_why,  # the covenant's term: "looptijd tot en met …" / "stilzwijgend verlengd tot en met …"
        ),
        tuple(warnings),
    )


PARTNER_STATUSES = ("partner", "notice_given", "ended", "excluded", "not_signed", "covenant_not_in_force")
"""A listed organisation's status on a date (:func:`partner_status`):

- ``partner``: a partner on that date;
- ``notice_given``: still a partner, but notice was given (it ends on ``ends_on``);
- ``ended``: no longer a partner, after notice or an immediate termination;
- ``excluded``: excluded (art. 14) on or before that date;
- ``not_signed``: has not signed the covenant (yet) on that date;
- ``covenant_not_in_force``: signed, but the covenant itself is not in force on that
  date (not yet, or no longer).
"""

CURRENT_PARTNER_STATUSES = frozenset({"partner", "notice_given"})
"""The statuses of an organisation that is a partner on the date."""


@dataclass(frozen=True)
class PartnerStatus:
    """One listed organisation's status on a date, from :func:`organisation_decision`.

    ``since`` is the first day it is (or was) a partner (:func:`partner_since`; None when
    it is not one yet on the date, or never was); ``ends_on`` the first day it is no longer a partner (notice,
    termination or exclusion; None when no end is recorded).
    """

    status: str
    since: dt.date | None
    ends_on: dt.date | None
    decision: Decision

    @property
    def current(self) -> bool:
        """Is the organisation a partner on the date?"""
        return self.status in CURRENT_PARTNER_STATUSES


def partner_status(covenant: CovenantFacts, partnership: PartnershipFacts, on: dt.date) -> PartnerStatus:
    """The status of a listed organisation on ``on``: the same answer as
    :func:`organisation_decision`, named by one of :data:`PARTNER_STATUSES`."""
    decision = organisation_decision(covenant, partnership, on)
    end = partnership_end(partnership)
    codes = {r.code for r in decision.reasons}
    if decision.allowed:
        status = "notice_given" if any(w.code == "notice_given" for w in decision.warnings) else "partner"
    elif "excluded" in codes:
        status = "excluded"
    elif codes & {"notice_ended", "terminated"}:
        status = "ended"
    elif codes & {"covenant_not_signed", "covenant_signed_later"}:
        status = "not_signed"
    else:
        status = "covenant_not_in_force"
    since = partner_since(covenant, partnership)
    if since is not None and (since > on or (end is not None and end[0] <= since)):
        since = None  # not a partner yet on ``on``, or it ended before it began
    return PartnerStatus(status, since, end[0] if end else None, decision)


def _end_reason(partnership: PartnershipFacts, end: tuple[dt.date, str]) -> Reason:
    """The Dutch reason for a partnership that has ended on ``end``."""
    day, code = end
    name = partnership.organisation_name
    if code == "notice_ended":
        return Reason(
            code,
            _('%(name)s heeft opgezegd op %(value)s; het partnerschap is geëindigd op %(value2)s.', name=name, value=iso(partnership.notice_given_on), value2=iso(day)),
        )
    if code == "terminated":
        return Reason(code, _('Het partnerschap van %(name)s is per %(value)s direct beëindigd bij meerderheidsbesluit.', name=name, value=iso(day)))
    why = _(" Reden: %(reason)s.", reason=partnership.exclusion_reason) if partnership.exclusion_reason else ""
    return Reason(code, _('%(name)s is per %(value)s uitgesloten van deelname.%(why)s', name=name, value=iso(day), why=why))


# ----------------------------------------------------------------------------- people


def employment_reason(person: PersonFacts, on: dt.date) -> tuple[bool, Reason | None]:
    """Is the person employed by their organisation on ``on``? (``employed_until`` inclusive)."""
    if person.employed_from is not None and on < person.employed_from:
        return False, Reason(
            "not_employed_yet",
            _('%(name)s is pas vanaf %(value)s in dienst bij %(organisation_name)s.', name=person.name, value=iso(person.employed_from), organisation_name=person.organisation_name),
        )
    if person.employed_until is not None and on > person.employed_until:
        return False, Reason(
            "employment_ended",
            _('%(name)s was tot en met %(value)s in dienst bij %(organisation_name)s.', name=person.name, value=iso(person.employed_until), organisation_name=person.organisation_name),
        )
    if person.employed_until is not None:
        return True, Reason(
            "employed", _('In dienst bij %(organisation_name)s tot en met %(value)s.', organisation_name=person.organisation_name, value=iso(person.employed_until))
        )
    return True, None


def _valid_on(declaration: DeclarationFacts, on: dt.date) -> bool:
    """Signed on or before ``on`` and not revoked by then."""
    return (
        declaration.signed_on is not None
        and declaration.signed_on <= on
        and (declaration.revoked_on is None or on < declaration.revoked_on)
    )


def has_valid_declaration(
    kind: str, declarations: list[DeclarationFacts], table_id: int, on: dt.date, case_ref: str | None = None
) -> bool:
    """Is there a valid declaration of ``kind`` for this table (and, for Bijlage 2, this case)?

    The yes/no of :func:`declaration_reason` without building its explanation.
    """
    return any(
        d.kind == kind and d.table_id == table_id and (kind == STRUCTURAL or (case_ref is not None and d.case_ref == case_ref))
        and _valid_on(d, on)
        for d in declarations
    )


def declaration_reason(
    kind: str,
    declarations: list[DeclarationFacts],
    table: TableFacts,
    on: dt.date,
    case_ref: str | None = None,
    label: str | None = None,
) -> tuple[bool, Reason]:
    """Does a valid declaration of ``kind`` exist for this table (and case)? Explain either way.

    ``label`` is the annex's printed number in the covenant's pack (the code stays
    ``bijlage1_*`` / ``bijlage2_*`` whatever the number). One pass over the
    declarations gathers every fact an answer can cite; the most telling one wins: the
    earliest valid declaration, else one revoked by ``on``, one signed later, one
    pending, (Bijlage 2) one for another case, one for another table, or none."""
    label = label or ("Bijlage 1" if kind == STRUCTURAL else "Bijlage 2")
    prefix = "bijlage1" if kind == STRUCTURAL else "bijlage2"
    incidental = kind == INCIDENTAL
    valid = revoked = later = other_case = elsewhere = None
    pending = False
    for d in declarations:
        if d.kind != kind:
            continue
        if d.table_id != table.id:
            elsewhere = elsewhere or d
            continue
        if incidental and (case_ref is None or d.case_ref != case_ref):
            if other_case is None and d.case_ref != case_ref:
                other_case = d
            continue
        signed_on = d.signed_on
        if d.revoked_on is not None and d.revoked_on <= on:
            revoked = revoked or d
        if _valid_on(d, on) and (valid is None or signed_on < valid.signed_on):
            valid = d
        if signed_on is None:
            pending = True
        elif signed_on > on and (later is None or signed_on < later.signed_on):
            later = d
    if valid is not None:
        for_case = _(', casus %(case_ref)s', case_ref=valid.case_ref) if incidental else ""
        return True, Reason(f"{prefix}_signed", _('%(label)s getekend op %(value)s voor %(name)s%(for_case)s.', label=label, value=iso(valid.signed_on), name=table.name, for_case=for_case))
    if revoked is not None:
        return False, Reason(f"{prefix}_revoked", _('%(label)s voor %(name)s is ingetrokken per %(value)s.', label=label, name=table.name, value=iso(revoked.revoked_on)))
    if later is not None:
        return False, Reason(f"{prefix}_signed_later", _('%(label)s voor %(name)s is pas getekend op %(value)s.', label=label, name=table.name, value=iso(later.signed_on)))
    if pending:
        return False, Reason(f"{prefix}_pending", _('%(label)s voor %(name)s wacht nog op ondertekening.', label=label, name=table.name))
    if other_case is not None:
        return False, Reason(
            "bijlage2_other_case",
            _('%(label)s is alleen getekend voor casus %(case_ref)s, niet voor casus %(case_ref2)s.', label=label, case_ref=other_case.case_ref, case_ref2=case_ref),
        )
    if elsewhere is not None:
        return False, Reason(
            f"{prefix}_other_table",
            _('%(label)s is getekend voor %(table_name)s, niet voor %(name)s.', label=label, table_name=elsewhere.table_name, name=table.name),
        )
    return False, Reason(f"{prefix}_missing", _('Geen getekende %(label)s voor %(name)s.', label=label, name=table.name))


def case_reason(case: CaseFacts | None, case_ref: str, on: dt.date) -> tuple[bool, Reason | None]:
    """A closed case is no longer discussed: nobody joins for it from its closing date."""
    if case is not None and case.closed_on is not None and on >= case.closed_on:
        return False, Reason("case_closed", _('Casus %(case_ref)s is gesloten per %(value)s.', case_ref=case_ref, value=iso(case.closed_on)))
    return True, None


def exclusion_reason(partnership: PartnershipFacts | None, on: dt.date) -> tuple[bool, Reason | None]:
    """An excluded partner's people take part in nothing from the exclusion date: not
    structurally and not incidentally through a Bijlage 2 either (consideration 12)."""
    if partnership is None or partnership.excluded_on is None or on < partnership.excluded_on:
        return True, None
    return False, _end_reason(partnership, (partnership.excluded_on, "excluded"))


def person_decision(
    person: PersonFacts,
    table: TableFacts,
    covenant: CovenantFacts,
    partnership: PartnershipFacts | None,
    declarations: list[DeclarationFacts],
    on: dt.date,
    case_ref: str | None = None,
    case: CaseFacts | None = None,
) -> Decision:
    """May ``person`` join ``table`` on ``on`` (for ``case_ref``)? Structural first, then incidental.

    Structural (Bijlage 1): covenant in force, organisation a partner, person employed,
    Bijlage 1 for this table. Incidental (Bijlage 2): covenant in force, person employed,
    Bijlage 2 for this table and this case. With a case, a closed case blocks both, and
    so does the exclusion of the person's organisation. Texts use the annex numbers of
    the covenant's pack.
    """
    period = _covenant_period(covenant, on)
    in_force, covenant_why = _covenant_reason(covenant, period)
    employed, employment_why = employment_reason(person, on)
    case_open, case_why = case_reason(case, case_ref, on) if case_ref else (True, None)
    not_excluded, exclusion_why = exclusion_reason(partnership, on)
    common_ok = [employment_why] if employed and employment_why is not None else []
    common_fail = []  # in this order: covenant, employment, case, exclusion
    if not in_force:
        common_fail.append(covenant_why)
    if not employed:
        common_fail.append(employment_why)
    if not case_open:
        common_fail.append(case_why)
    if not not_excluded:
        common_fail.append(exclusion_why)

    organisation = _organisation_on(covenant, partnership, on, period, person.organisation_name)
    org_failures = [r for r in organisation.reasons if r.code not in ("covenant_not_in_force", "covenant_ended")]
    has_b1, b1_why = declaration_reason(STRUCTURAL, declarations, table, on, label=covenant.structural_annex)
    structural_fail = ([] if organisation.allowed else org_failures) + ([] if has_b1 else [b1_why])

    if not structural_fail:
        if not common_fail:
            partner_ok = [r for r in organisation.reasons if r.code != "covenant_in_force"]
            return Decision(True, STRUCTURAL, (*partner_ok, b1_why, *common_ok, covenant_why), organisation.warnings)
        # The structural route is complete; only a shared condition blocks (e.g. a closed case).
        return Decision(False, None, _unique(tuple(common_fail)), organisation.warnings)

    incidental_fail: list[Reason] = []
    if case_ref:
        has_b2, b2_why = declaration_reason(INCIDENTAL, declarations, table, on, case_ref, covenant.incidental_annex)
        if has_b2:
            if not common_fail:
                # An incidental participant's organisation need not be a partner: no partner warnings.
                return Decision(True, INCIDENTAL, (b2_why, *common_ok, covenant_why))
            # The incidental route is complete; only a shared condition blocks.
            return Decision(False, None, _unique(tuple(common_fail)))
        incidental_fail.append(b2_why)
    elif any(d.kind == INCIDENTAL and d.table_id == table.id for d in declarations):
        incidental_fail.append(
            Reason("case_required", _('Met een %(incidental_annex)s mag alleen worden deelgenomen voor één casus: noem de casus.', incidental_annex=covenant.incidental_annex))
        )
    return Decision(False, None, _unique((*common_fail, *structural_fail, *incidental_fail)), organisation.warnings)


def _unique(reasons: tuple[Reason, ...]) -> tuple[Reason, ...]:
    """Drop repeated reasons while keeping their order."""
    if len(reasons) < 2:
        return reasons
    seen: set[Reason] = set()
    return tuple(r for r in reasons if not (r in seen or seen.add(r)))


# ----------------------------------------------------------------------------- consent


@dataclass(frozen=True)
class ConsentFacts:
    """A Bijlage 4 consent: who may receive which data categories, and its validity."""

    id: int
    signed_on: dt.date | None
    withdrawn_on: dt.date | None
    recipient_ids: frozenset[int] = field(default_factory=frozenset)
    categories: tuple[str, ...] = ()


def consent_valid(consent: ConsentFacts, on: dt.date, case: CaseFacts | None = None) -> bool:
    """A consent holds from signing until withdrawal (exclusive) or the case's closing."""
    if consent.signed_on is None or on < consent.signed_on:
        return False
    if consent.withdrawn_on is not None and on >= consent.withdrawn_on:
        return False
    return not (case is not None and case.closed_on is not None and on >= case.closed_on)


def amendment_in_force(
    partner_ids: set[int], approvals: dict[int, dt.date], on: dt.date
) -> bool:
    """An amendment (*wijziging*) holds only once every current partner approved it in writing.

    ``partner_ids`` are the organisations that are partners on ``on``; ``approvals`` maps an
    organisation to the date it signed the new version (art. 13: *alle Convenantpartners*).
    """
    return bool(partner_ids) and all(
        org in approvals and approvals[org] <= on for org in partner_ids
    )


# ----------------------------------------------------------------------------- meetings (art. 6 and 11)


@dataclass(frozen=True)
class ConsentCoverage:
    """Whether a resident's consent (Bijlage 4) lets an organisation receive personal data.

    ``covered`` with the data ``categories`` the valid consents name; otherwise only
    anonymous or DAT-information may be shared (art. 11 of the covenant). ``reason``
    explains the answer with its dates.
    """

    covered: bool
    categories: tuple[str, ...]
    reason: Reason
    legal_basis: str = "consent"
    """The pack's legal basis for sharing: ``consent`` (this answer is about a consent) or
    e.g. ``shared_professional_secrecy`` (no consent applies; ``reason`` names the basis)."""

    def as_dict(self) -> dict:
        """JSON shape: ``{"covered", "categories", "reason", "legal_basis"}``."""
        return {"covered": self.covered, "categories": list(self.categories), "reason": self.reason.as_dict(),
                "legal_basis": self.legal_basis}


def legal_basis_coverage(legal_basis: str, label: str) -> ConsentCoverage:
    """The consent column at a table that shares information on another legal basis than
    consent (art. 458ter Sw.): no consent is asked, none is missing; the reason names the
    basis."""
    return ConsentCoverage(False, (), Reason(legal_basis, _('Informatie wordt gedeeld op grond van %(label)s; een toestemmingsformulier is niet van toepassing.', label=label)),
                           legal_basis)


def consent_coverage(
    consents: list[ConsentFacts], organisation_id: int, organisation_name: str, on: dt.date, case: CaseFacts | None,
    label: str = "Bijlage 4",
) -> ConsentCoverage:
    """Does a valid Bijlage 4 for this case name this organisation on ``on``, for which categories?

    ``label`` is the consent form's printed number in the covenant's pack."""
    named = [c for c in consents if organisation_id in c.recipient_ids]
    valid = sorted((c for c in named if consent_valid(c, on, case)), key=lambda c: (c.signed_on, c.id))
    if valid:
        categories = tuple(dict.fromkeys(cat for c in valid for cat in c.categories))
        dates = ", ".join(iso(c.signed_on) for c in valid)
        return ConsentCoverage(
            True, categories,
            Reason("consent_covered", _('Toestemming (%(label)s, getekend %(dates)s) noemt %(organisation_name)s als ontvanger.', label=label, dates=dates, organisation_name=organisation_name)),
        )
    return ConsentCoverage(False, (), _no_consent_reason(consents, named, organisation_name, on, case, label))


ANONYMOUS_ONLY = N_("alleen anonieme of DAT-informatie delen (art. 11)")


def _no_consent_reason(
    consents: list[ConsentFacts], named: list[ConsentFacts], organisation_name: str, on: dt.date, case: CaseFacts | None,
    label: str = "Bijlage 4",
) -> Reason:
    """The most telling reason why no consent covers the organisation on ``on``."""
    withdrawn = sorted((c for c in named if c.withdrawn_on is not None and c.withdrawn_on <= on), key=lambda c: c.withdrawn_on)
    if withdrawn:
        return Reason("consent_withdrawn", _('Toestemming ingetrokken per %(value)s: %(ANONYMOUS_ONLY)s.', value=iso(withdrawn[-1].withdrawn_on), ANONYMOUS_ONLY=_(ANONYMOUS_ONLY)))
    if named and case is not None and case.closed_on is not None and on >= case.closed_on:
        return Reason("consent_case_closed", _('Toestemming vervallen: casus gesloten per %(value)s; %(ANONYMOUS_ONLY)s.', value=iso(case.closed_on), ANONYMOUS_ONLY=_(ANONYMOUS_ONLY)))
    later = sorted(c.signed_on for c in named if c.signed_on is not None and c.signed_on > on)
    if later:
        return Reason("consent_signed_later", _('Toestemming pas getekend op %(value)s: %(ANONYMOUS_ONLY)s.', value=iso(later[0]), ANONYMOUS_ONLY=_(ANONYMOUS_ONLY)))
    if any(c.signed_on is None for c in named):
        return Reason("consent_pending", _('Toestemming wacht nog op ondertekening: %(ANONYMOUS_ONLY)s.', ANONYMOUS_ONLY=_(ANONYMOUS_ONLY)))
    if consents:
        return Reason("consent_not_named", _('De toestemming noemt %(organisation_name)s niet: %(ANONYMOUS_ONLY)s.', organisation_name=organisation_name, ANONYMOUS_ONLY=_(ANONYMOUS_ONLY)))
    return Reason("consent_missing", _('Geen toestemming (%(label)s) voor deze casus: %(ANONYMOUS_ONLY)s.', label=label, ANONYMOUS_ONLY=_(ANONYMOUS_ONLY)))


def need_to_know_decision(
    decision: Decision, withdrawn_on: dt.date | None, organisation_name: str, case_ref: str, on: dt.date
) -> Decision:
    """A partner that said it no longer needs to know a case (art. 6) is not expected for it
    from that date: the person's entitlement stays, but they do not take part in this case."""
    if withdrawn_on is None or on < withdrawn_on:
        return decision
    reason = Reason(
        "need_to_know_withdrawn",
        _('%(organisation_name)s heeft per %(value)s aangegeven casus %(case_ref)s niet meer te hoeven kennen (art. 6).', organisation_name=organisation_name, value=iso(withdrawn_on), case_ref=case_ref),
    )
    return Decision(False, None, (reason, *(() if decision.allowed else decision.reasons)), decision.warnings)


def invitee_warnings(
    decision: Decision,
    person: PersonFacts,
    table: TableFacts,
    covenant: CovenantFacts,
    partnership: PartnershipFacts | None,
    declarations: list[DeclarationFacts],
    on: dt.date,
    case_ref: str,
    coverage: ConsentCoverage,
) -> tuple[Reason, ...]:
    """What a coordinator should act on before the meeting for one invitee and case.

    ``bijlage1_missing`` and ``bijlage2_needed`` name the declaration to send for signing;
    ``notice_before_meeting`` a partnership that ends on or before the meeting date;
    ``consent_withdrawn`` a consent naming the organisation that was withdrawn by then.
    Warnings the rules already gave (e.g. ``notice_given``) come first.
    """
    warnings = list(decision.warnings)
    partner = organisation_decision(covenant, partnership, on, person.organisation_name).allowed
    has_b1 = has_valid_declaration(STRUCTURAL, declarations, table.id, on)
    has_b2 = has_valid_declaration(INCIDENTAL, declarations, table.id, on, case_ref)
    b1, b2 = covenant.structural_annex, covenant.incidental_annex
    if partner and not has_b1:
        warnings.append(Reason("bijlage1_missing", _('%(name)s heeft geen getekende %(b1)s voor %(name2)s: stuur %(b1)s ter ondertekening.', name=person.name, b1=b1, name2=table.name)))
    excluded = not exclusion_reason(partnership, on)[0]  # no declaration helps an excluded partner's people
    if not decision.allowed and not has_b2 and not (partner and has_b1) and not excluded:
        warnings.append(Reason("bijlage2_needed", _('Voor casus %(case_ref)s is een %(b2)s van %(name)s nodig: stuur %(b2)s ter ondertekening.', case_ref=case_ref, b2=b2, name=person.name)))
    if partnership is not None and partnership.notice_given_on is not None and partnership.ends_on is not None and partnership.ends_on <= on:
        warnings.append(
            Reason(
                "notice_before_meeting",
                _('%(organisation_name)s heeft op %(value)s opgezegd; het partnerschap eindigt op %(value2)s, vóór of op de vergaderdatum %(value3)s.', organisation_name=person.organisation_name, value=iso(partnership.notice_given_on), value2=iso(partnership.ends_on), value3=iso(on)),
            )
        )
    if coverage.legal_basis == "consent" and coverage.reason.code == "consent_withdrawn":
        warnings.append(coverage.reason)
    return _unique(tuple(warnings))


def role_warning(role: str, person_name: str | None, decision: Decision | None) -> Reason | None:
    """A chair (*voorzitter*) or coordinator (*coördinator*) must be entitled at the table themselves."""
    label = _("voorzitter") if role == "chair" else _("coördinator")
    if person_name is None or decision is None:
        return Reason(f"no_{role}", _('De casustafel heeft geen %(label)s.', label=label))
    if decision.allowed:
        return None
    why = "; ".join(r.text for r in decision.reasons)
    return Reason(f"{role}_not_entitled", _('De %(label)s %(person_name)s mag zelf niet aan deze casustafel deelnemen: %(why)s', label=label, person_name=person_name, why=why))


# ----------------------------------------------------------------------------- a case's own family


PARENT_ROLE = "ouder_met_gezag"
"""The pack key of a parent with authority (*ouder met gezag*) taking part in a case."""


def age_band_bounds(age_band: str | None) -> tuple[int | None, int | None]:
    """(youngest, oldest) of an age band label: "12-16" → (12, 16), "80+" → (80, None),
    anything else → (None, None)."""
    text = (age_band or "").strip()
    if text.endswith("+") and text[:-1].isdigit():
        return int(text[:-1]), None
    low, _, high = text.partition("-")
    if low.isdigit() and high.isdigit():
        return int(low), int(high)
    return None, None


def family_warnings(age_band: str | None, family_roles: tuple[str, ...],
                    pack_roles: tuple[str, ...]) -> tuple[Reason, ...]:
    """Warnings about who of the family takes part: a minor's case (an age band that starts
    below 18) without a parent with authority, when the covenant lets parents take part."""
    youngest = age_band_bounds(age_band)[0]
    if PARENT_ROLE in pack_roles and youngest is not None and youngest < 18 and PARENT_ROLE not in family_roles:
        return (Reason("no_parent_invited",
                       _('Casus van een minderjarige (leeftijd %(age_band)s) zonder ouder met gezag: nodig een ouder met gezag uit voor het casusoverleg.', age_band=age_band)),)
    return ()
