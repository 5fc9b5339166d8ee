"""Reading JSON bodies and query strings into typed values, collecting every field error.

A request with several bad fields gets one answer naming all of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request

from registry.errors import BadRequest, ValidationError


def parse_date(value: Any) -> dt.date:
    """A ``YYYY-MM-DD`` string as a date; ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError(value)
    return dt.date.fromisoformat(value)


class Body:
    """The request's JSON object, read field by field; errors accumulate in ``errors``."""

    def __init__(self, data: dict[str, Any], error_class: type = ValidationError):
        self.data = data
        self.errors: dict[str, str] = {}
        self._error_class = error_class

    @classmethod
    def from_request(cls) -> Body:
        """The JSON body; 400 when it is not a JSON object."""
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise BadRequest("De body moet een JSON-object zijn (Content-Type: application/json).", code="bad_json")
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
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            self.errors[name] = "Moet een positief geheel getal zijn."
            return None
        return value

    def date(self, name: str, required: bool = False) -> dt.date | None:
        """A ``YYYY-MM-DD`` date field."""
        if self._missing(name, required):
            return None
        try:
            return parse_date(self.data[name])
        except ValueError:
            self.errors[name] = "Geen geldige datum; gebruik JJJJ-MM-DD."
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
        return value

    def check(self) -> None:
        """Raise one error naming every bad field, if any."""
        if self.errors:
            raise self._error_class("Controleer de velden.", dict(self.errors))
