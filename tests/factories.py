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
    cov = services.create_covenant(session, pack="emmen-casustafel", title="Convenant Test", region="Testregio")
    for org, signed_on in partners:
        rep = person(session, org, function="Bestuurder")
        services.add_partner(session, cov, organisation_id=org.id, representative_id=rep.id, signed_on=signed_on)
    return cov


def table(session, cov, area="Noord"):
    """A case table of the covenant."""
    return services.create_table(session, covenant_id=cov.id, name=f"Casustafel {area}", area=area)
