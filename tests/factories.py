"""Factories for registry rows with sensible defaults (each returns the flushed object)."""

from __future__ import annotations

import datetime as dt
import itertools

from registry import services

_n = itertools.count(1)
D = dt.date


def organisation(session, name=None):
    """An organisation with a unique name."""
    return services.create_organisation(session, name or f"Organisatie {next(_n)}")


def person(session, org, name=None, **kwargs):
    """A person of ``org``."""
    return services.create_person(
        session, name=name or f"Persoon {next(_n)}", initials="X.", organisation_id=org.id,
        function=kwargs.pop("function", "Medewerker"), email=kwargs.pop("email", None), **kwargs,
    )


def covenant(session, partners=(), in_force=True):
    """A covenant whose ``partners`` [(org, signed_on)] are listed; in force after they sign."""
    cov = services.create_covenant(session, pack="emmen-casustafel", title="Convenant Test", region="Testregio",
                                   areas=["Noord", "Zuid", "Oost", "West"])
    for org, signed_on in partners:
        rep = person(session, org, function="Bestuurder")
        services.add_partner(session, cov, organisation_id=org.id, representative_id=rep.id, signed_on=signed_on)
    return cov


def table(session, cov, area="Noord"):
    """A case table of the covenant."""
    return services.create_table(session, covenant_id=cov.id, name=f"Casustafel {area}", area=area)


def emmen_world(session):
    """A covenant of the Emmen pack with two signed partners (with representatives) and
    a table for Emmen-Noord whose chair is of Stichting de Toegang and coordinator of
    Sedna (the pack's table roles); plus a recipient organisation that is not a partner.

    Returns a dict of the rows by role; the caller commits.
    """
    cov = services.create_covenant(session, pack="emmen-casustafel", title="Convenant Casustafel Testregio", region="Testregio")
    ggd = organisation(session, "GGD Drenthe")
    lefier = organisation(session, "Woningcorporatie Lefier")
    buurtteam = organisation(session, "Buurtteam Angelslo")
    rep_ggd = services.create_person(session, name="Rianne ter Laak", initials="R.", organisation_id=ggd.id, function="Directeur", email="r@ggd.example")
    rep_lefier = services.create_person(session, name="Wim Woning", initials="W.", organisation_id=lefier.id, function="Bestuurder", email="w@lefier.example")
    services.add_partner(session, cov, organisation_id=ggd.id, representative_id=rep_ggd.id, signed_on=D(2025, 5, 1))
    services.add_partner(session, cov, organisation_id=lefier.id, representative_id=rep_lefier.id, signed_on=D(2025, 5, 2))
    nurse = services.create_person(session, name="de Vries", initials="A.B.", organisation_id=ggd.id, function="Jeugdverpleegkundige", email="a@ggd.example")
    toegang = organisation(session, "Stichting de Toegang Emmen")
    sedna = organisation(session, "Stichting Welzijnsorganisatie Sedna")
    chair = services.create_person(session, name="Anouk Veenstra", initials="A.", organisation_id=toegang.id, function="Voorzitter")
    coordinator = services.create_person(session, name="Gerda Smit", initials="G.", organisation_id=sedna.id, function="Coördinator")
    table = services.create_table(session, covenant_id=cov.id, name="Emmen-Noord", area="Emmen-Noord", chair_id=chair.id, coordinator_id=coordinator.id)
    return {"covenant": cov, "ggd": ggd, "lefier": lefier, "buurtteam": buurtteam, "rep_ggd": rep_ggd,
            "rep_lefier": rep_lefier, "nurse": nurse, "table": table, "toegang": toegang, "sedna": sedna,
            "chair": chair, "coordinator": coordinator}
