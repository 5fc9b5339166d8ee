"""Who signs a consent (Bijlage 4 / 5) and what state it is in: plain rules, no Flask.

The pack's ``[[consent_signers]]`` age bands decide, on the resident's age on the
signing date (Jeugdwet / WGBO), who must sign: for example under 12 the parents
(``parents``), from 12 to 16 the young person together with the parents
(``resident`` and ``parents``), from 16 the resident alone (``resident``). A consent's
``signed_by`` (``resident`` | ``parents`` | ``resident_and_parents``) must say exactly
that. A consent is valid only once every required signer signed; a decline by any of
them makes it ``declined`` for good.
"""

from __future__ import annotations

import datetime as dt

from registry import packs
from registry.errors import ValidationError
from registry.packs import ConsentSignerBand, Pack
from registry.texts import N_, _

SIGNED_BY = ("resident", "parents", "resident_and_parents")
ROLES = ("resident", "parents")
ROLES_OF = {"resident": ("resident",), "parents": ("parents",), "resident_and_parents": ("resident", "parents")}
STATUSES = ("draft", "pending", "signed", "declined", "withdrawn")
STATUS_NL = {"draft": "concept: vastgelegd, nog niet verstuurd", "pending": "verstuurd, wacht op ondertekening",
             "signed": "getekend", "declined": "geweigerd", "withdrawn": "ingetrokken"}
ROLE_NL = {"resident": N_("inwoner"), "parents": N_("ouders/verzorgers")}


def no_consent_reason(pack: Pack | None) -> str | None:
    """Why a consent cannot be recorded at a table of this pack, in Dutch; None when the
    pack's legal basis is consent. A pack sharing information under shared professional
    secrecy (art. 458ter Sw.) has no consent form."""
    if packs.consent_applies(pack):
        return None
    return _("Deze tafel deelt informatie op grond van %(basis)s; "
             "een toestemmingsformulier is niet van toepassing.", basis=packs.legal_basis_label(pack))


def refuse_without_consent(pack: Pack | None, field: str = "table_id") -> None:
    """422 naming ``field`` (the table) when the pack's legal basis is not consent."""
    reason = no_consent_reason(pack)
    if reason is not None:
        raise ValidationError(reason, {field: reason})


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Full years of age on ``on`` (someone born on 29 February turns a year older on 1 March)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def band_for(pack: Pack, age: int) -> tuple[int, ConsentSignerBand] | None:
    """The pack's band for this age with its index, or None when the pack has no bands."""
    for index, band in enumerate(pack.consent_signers):
        if band.below_age is None or age < band.below_age:
            return index, band
    return None


def has_rule(pack: Pack) -> bool:
    """Does the pack decide who signs (``[[consent_signers]]``)?"""
    return bool(pack.consent_signers)


def required_signers(pack: Pack, birth_date: dt.date, on: dt.date) -> tuple[str, ...]:
    """The roles that must sign a consent for a resident born on ``birth_date``, signing on ``on``.

    In the order of :data:`ROLES`; empty when the pack has no ``[[consent_signers]]``
    (then the form's ``signed_by`` alone says who signs).
    """
    found = band_for(pack, age_on(birth_date, on))
    if found is None:
        return ()
    return tuple(role for role in ROLES if role in found[1].signers)


def signed_by_for(roles: tuple[str, ...]) -> str:
    """The ``signed_by`` value naming exactly these roles."""
    for key, key_roles in ROLES_OF.items():
        if set(key_roles) == set(roles):
            return key
    raise ValueError(f"no signed_by for roles {roles!r}")


def roles_of(signed_by: str | None) -> tuple[str, ...]:
    """The roles a ``signed_by`` value stands for (unknown: none)."""
    return ROLES_OF.get(signed_by or "", ())


def _band_text(pack: Pack, index: int) -> str:
    """The age range of band ``index`` in Dutch: "jonger dan 12 jaar", "12 tot 16 jaar", "16 jaar en ouder"."""
    band = pack.consent_signers[index]
    lower = pack.consent_signers[index - 1].below_age if index > 0 else None
    if band.below_age is None:
        return f"{lower} jaar en ouder" if lower is not None else "elke leeftijd"
    if lower is None:
        return f"jonger dan {band.below_age} jaar"
    return f"{lower} tot {band.below_age} jaar"


def rule_text(pack: Pack, birth_date: dt.date, on: dt.date) -> str:
    """The rule for this resident in Dutch, e.g. "Voor een inwoner van 13 jaar tekenen de
    jongere én de ouders/verzorgers (12 tot 16 jaar)."."""
    age = age_on(birth_date, on)
    found = band_for(pack, age)
    if found is None:
        return "Het sjabloonpakket legt niet vast wie tekent."
    index, band = found
    roles = tuple(role for role in ROLES if role in band.signers)
    young = "de jongere" if age < 18 else "de inwoner"
    if roles == ("resident", "parents"):
        who = f"tekenen {young} én de ouders/verzorgers"
    elif roles == ("parents",):
        who = "tekenen de ouders/verzorgers"
    else:
        who = f"tekent {young} zelf"
    return f"Voor een inwoner van {age} jaar {who} ({_band_text(pack, index)})."


def signers_nl(roles: tuple[str, ...]) -> str:
    """Roles in Dutch: "inwoner", "ouders/verzorgers", "inwoner en ouders/verzorgers"."""
    return (" " + _("en") + " ").join(_(ROLE_NL[r]) for r in roles)


def status(consent, *, sent: bool) -> str:
    """The one status of a consent: ``draft`` (recorded, not sent, not signed), ``pending``
    (sent, waiting for every required signer), ``signed``, ``declined`` (a required signer
    declined: never valid) or ``withdrawn``.

    ``sent`` says whether a signing request for it still counts (open or signed); the
    signing core knows that (:func:`signatures.subjects.consent_status`).
    """
    if consent.withdrawn_on is not None:
        return "withdrawn"
    if consent.declined_on is not None:
        return "declined"
    if consent.signed_on is not None:
        return "signed"
    return "pending" if sent else "draft"
