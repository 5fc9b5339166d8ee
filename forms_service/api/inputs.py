"""Reading JSON bodies and query strings into typed values, collecting every field error.

A request with several bad fields gets one answer naming all of them.

Bad input never reaches the database or date arithmetic: ids are 1 … 2³¹−1 (the
database's ``integer``), dates have years MIN_YEAR … MAX_YEAR (room for "three
months' notice" and "three-year term" sums), a JSON body nests at most
MAX_JSON_DEPTH levels (checked before parsing: 400), and no string anywhere in the
body may hold a NUL byte or a lone surrogate (422 naming the field).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request

from forms_service.security import MAX_ID, MAX_YEAR, MIN_YEAR, bad_text, printable
from registry.errors import BadRequest, ValidationError

MAX_JSON_DEPTH = 32
"""How deeply arrays and objects of a JSON body may nest."""

ID_MESSAGE = f"Moet een geheel getal zijn van 1 tot en met {MAX_ID}."
DATE_MESSAGE = f"Geen geldige datum; gebruik JJJJ-MM-DD met een jaar van {MIN_YEAR} tot en met {MAX_YEAR}."
EMPTY_QUERY_DATE_MESSAGE = f"Lege datum: gebruik JJJJ-MM-DD met een jaar van {MIN_YEAR} tot en met {MAX_YEAR}, of laat de parameter weg."


def parse_date(value: Any) -> dt.date:
    """A ``YYYY-MM-DD`` string as a date with a year in MIN_YEAR … MAX_YEAR; ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError(value)
    day = dt.date.fromisoformat(value)
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(value)
    return day


def valid_id(value: Any) -> bool:
    """An id as JSON gives it: an int (not a bool) in 1 … 2³¹−1."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects in ``raw`` nest deeper than ``limit`` (strings skipped).

    Runs before ``json.loads``, which would hit Python's recursion limit on
    thousands of ``[`` and fail with a RecursionError (a 500).
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def bad_strings(value: Any, path: str = "") -> dict[str, str]:
    """Every string (key or value) in a parsed JSON value that holds NUL or a lone surrogate."""
    found: dict[str, str] = {}
    if isinstance(value, str):
        problem = bad_text(value)
        if problem:
            found[path or "body"] = problem
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{printable(key)}" if path else printable(key)
            problem = bad_text(key)
            if problem:
                found[name] = problem
            else:
                found.update(bad_strings(item, name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.update(bad_strings(item, f"{path}[{i}]"))
    return found


class Body:
    """The request's JSON object, read field by field; errors accumulate in ``errors``."""

    def __init__(self, data: dict[str, Any], error_class: type = ValidationError):
        self.data = data
        self.errors: dict[str, str] = {}
        self._error_class = error_class

    @classmethod
    def from_request(cls) -> Body:
        """The JSON body; 400 when it is not a JSON object."""
        if request.is_json and json_too_deep(request.get_data(cache=True)):
            raise BadRequest(f"De JSON is dieper genest dan {MAX_JSON_DEPTH} niveaus.", code="bad_json")
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # a parser without our depth check in front
            data = None
        if not isinstance(data, dict):
            raise BadRequest("De body moet een JSON-object zijn (Content-Type: application/json).", code="bad_json")
        problems = bad_strings(data)
        if problems:
            raise ValidationError("Een veld bevat een teken dat niet kan worden opgeslagen (NUL of losse surrogaat).",
                                  problems)
        return cls(data)

    @classmethod
    def from_query(cls) -> Body:
        """The query string; errors there are 400s."""
        return cls(request.args.to_dict(), BadRequest)

    def _missing(self, name: str, required: bool) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.errors[name] = "Dit veld is verplicht."
            return True
        return False

    def str(self, name: str, required: bool = False, max_length: int = 500) -> str | None:
        """A string field (trimmed)."""
        if self._missing(name, required):
            return None
        value = self.data[name]
        if not isinstance(value, str):
            self.errors[name] = "Moet tekst zijn."
            return None
        if len(value) > max_length:
            self.errors[name] = f"Te lang (maximaal {max_length} tekens)."
            return None
        return value.strip()

    def int(self, name: str, required: bool = False) -> int | None:
        """An integer id field (a numeric string is accepted in query strings)."""
        if self._missing(name, required):
            return None
        value = self.data[name]
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
            value = int(value)
        if not valid_id(value):
            self.errors[name] = ID_MESSAGE
            return None
        return value

    def date(self, name: str, required: bool = False) -> dt.date | None:
        """A ``YYYY-MM-DD`` date field. In a query string a date parameter given empty
        (``?on=``) is an error naming it, like a malformed one; leave it out for the default."""
        if self._error_class is BadRequest and self.data.get(name) == "":
            self.errors[name] = EMPTY_QUERY_DATE_MESSAGE
            return None
        if self._missing(name, required):
            return None
        try:
            return parse_date(self.data[name])
        except ValueError:
            self.errors[name] = DATE_MESSAGE
            return None

    def choice(self, name: str, choices: tuple[str, ...], required: bool = False) -> str | None:
        """One of a fixed set of strings."""
        value = self.str(name, required)
        if value is not None and value not in choices:
            self.errors[name] = f"Kies uit: {', '.join(choices)}."
            return None
        return value

    def list_of(self, name: str, kind: type, required: bool = False) -> list:
        """A list whose items are all of ``kind`` (int or str)."""
        if self._missing(name, required):
            return []
        value = self.data[name]
        if not isinstance(value, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
            self.errors[name] = "Moet een lijst zijn van " + ("getallen." if kind is int else "teksten.")
            return []
        if kind is int and not all(valid_id(v) for v in value):
            self.errors[name] = "Elk getal in de lijst: " + ID_MESSAGE[0].lower() + ID_MESSAGE[1:]
            return []
        return value

    def check(self) -> None:
        """Raise one error naming every bad field, if any."""
        if self.errors:
            raise self._error_class("Controleer de velden.", dict(self.errors))
