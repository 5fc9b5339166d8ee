"""The service's own words outside Flask: Dutch message ids, translated through one hook.

``registry/`` and ``signatures/`` run without Flask (CLI, worker, tests). The texts they
write for people — reason texts (*redenen*), mails, labels on PDFs the service itself
makes (certificaat van voltooiing, presentie- en toetsingslijst, ondertekeningspagina's)
— are written as ``_("Dutch text with %(name)s", name=value)``. :func:`_` looks the
message id up with the translator that is installed, then fills in the values:

- by default the identity, so outside a request (worker, CLI, plain tests) the text is
  Dutch, the source language;
- ``forms_service.i18n.init_app`` installs Flask-Babel's ``gettext`` (and the page's
  language for dates), so inside a request the text is in the language of that request;
- inside ``with speaking("en"):`` the text is in that language whatever the request: a
  mail to a signer in the language stored with their signing request (the worker's
  reminders and completion notices, a reminder sent from a Dutch page to an English
  signer), and the command line in ``FORMS_SERVICE_LANGUAGE``. ``forms_service.i18n``
  installs the catalogue for it (Babel's, no Flask needed).

``N_("…")`` marks a text kept in a constant (extracted, not translated yet); translate it
where it is used with ``_(CONSTANT)``. ``pybabel extract`` finds both (babel.cfg).
Dates read "12 mei 2025" (:func:`long_date`), times are Europe/Amsterdam
(:func:`local_time`), in the same language.

The covenant and annex texts of a pack are not translated here: they stay in the pack's
language.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Europe/Amsterdam")
SOURCE_LANGUAGE = "nl"
LANGUAGES = (SOURCE_LANGUAGE, "en")
"""The languages of the service's own words; a stored language outside these is ignored."""

_translate: Callable[[str], str] = lambda message: message  # noqa: E731 - the identity until installed
_language: Callable[[], str] = lambda: SOURCE_LANGUAGE  # noqa: E731
_catalogue: Callable[[str], Callable[[str], str]] = lambda language: (lambda message: message)  # noqa: E731
_spoken: ContextVar[str | None] = ContextVar("spoken_language", default=None)


def install(translate: Callable[[str], str], language: Callable[[], str],
            catalogue: Callable[[str], Callable[[str], str]] | None = None) -> None:
    """Use ``translate`` for message ids and ``language()`` for dates from now on, and
    ``catalogue(language)`` (a gettext for one language) inside :func:`speaking` (forms_service)."""
    global _translate, _language, _catalogue
    _translate, _language = translate, language
    if catalogue is not None:
        _catalogue = catalogue


def use_catalogue(catalogue: Callable[[str], Callable[[str], str]]) -> None:
    """Use ``catalogue(language)`` inside :func:`speaking` without a Flask app (the command line)."""
    global _catalogue
    _catalogue = catalogue


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Write texts (and dates) in ``language`` inside the block: the recipient's language
    for a mail, whoever or whatever sends it. None or an unknown language: the current one."""
    chosen = language if language in LANGUAGES else None
    token = _spoken.set(chosen or _spoken.get())
    try:
        yield _spoken.get() or _language()
    finally:
        _spoken.reset(token)


def translate(message: str) -> str:
    """The message in the current language, nothing filled in (Jinja's ``gettext``)."""
    spoken = _spoken.get()
    return _catalogue(spoken)(message) if spoken else _translate(message)


def _(message: str, **values) -> str:
    """The message in the current language, with ``%(name)s`` filled in from ``values``."""
    text = translate(message)
    return text % values if values else text


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark a constant text for the catalogue; translate it where it is shown with ``_(…)``."""
    return message


def language() -> str:
    """The language texts are written in now ("nl" or "en")."""
    return _spoken.get() or _language()


def long_date(value: dt.date | None) -> str:
    """A date as people write it: "12 mei 2025" / "12 May 2025"; "—" for none."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.date()
    return _long_date(value, language())


def _long_date(value: dt.date, language: str) -> str:
    """CLDR's "d MMMM y" in ``language``: the day, the month's name, the year. Written out
    with Babel's month names rather than by ``babel.dates.format_date``, which parses
    the pattern again each time (tens of microseconds, more than the database takes to
    answer a check; a registry answer writes several dates into its reasons)."""
    return f"{value.day} {_month_names(language)[value.month - 1]} {value.year}"


@functools.lru_cache(maxsize=None)
def _month_names(language: str) -> tuple[str, ...]:
    """The twelve month names of ``language`` as a date writes them (CLDR, "format" "wide")."""
    from babel import Locale

    wide = Locale.parse(language).months["format"]["wide"]
    return tuple(wide[month] for month in range(1, 13))


def local_clock(value: dt.datetime | None) -> str:
    """The time of day of a moment in Europe/Amsterdam: "10:42"; naive datetimes are UTC.
    For moments at most minutes away (the next attempt of a seal)."""
    from babel.dates import format_time

    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return format_time(value, "HH:mm", tzinfo=TIMEZONE, locale=language())


def local_time(value: dt.datetime | None, *, seconds: bool = False) -> str:
    """A moment in Europe/Amsterdam: "12 mei 2025 14:05"; naive datetimes are UTC."""
    from babel.dates import format_datetime

    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    pattern = "d MMMM y HH:mm:ss" if seconds else "d MMMM y HH:mm"
    return format_datetime(value, pattern, tzinfo=TIMEZONE, locale=language())
