"""The API's one schema layer: marshmallow fields and schemas read by flask-smorest.

A schema here is at once the request validation (webargs), the OpenAPI 3.1 document
(apispec) and the serialisation of the answer: every API module declares its shapes
with these fields and decorates its views with :func:`body`, :func:`query` and
``bp.response``. What a field documents is exactly what it accepts, so a request valid
by ``GET /api/openapi.json`` is never refused as malformed (the fuzz test in
``tests/test_api_fuzz.py`` holds us to that):

- ids are integers 1 … 2³¹−1 (the database's ``integer``; never a boolean);
- dates are ``YYYY-MM-DD`` with a year MIN_YEAR … MAX_YEAR (a pattern says so);
- strings hold no NUL (a pattern says so); a required string holds a non-space;
- a JSON body is an object nested at most MAX_JSON_DEPTH levels (checked before
  parsing: 400 ``bad_json``); unknown properties are ignored.

Shape errors keep the API's error contract: 422 ``validation_error`` for a body, 400
``bad_request`` for a query string, ``fields`` naming each bad field (``cases[0].case_ref``).
Rules (a date not after today, a case reference that is no name) stay in the services.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import marshmallow as ma
from blinker import Namespace
from flask import request
from flask_babel import gettext as _
from marshmallow import validate

from forms_service.security import MAX_ID, MAX_YEAR, MIN_YEAR, bad_text, printable
from registry import texts
from registry.errors import BadRequest, ValidationError
from registry.texts import N_

MAX_JSON_DEPTH = 32
"""How deeply arrays and objects of a JSON body may nest."""

# Field messages are Dutch when marshmallow makes them (at import, outside any request);
# :func:`translated` puts them in the request's language when the answer is written. A
# message with a number in it is made from a template, so it can be read back.
REQUIRED_MESSAGE = N_("Dit veld is verplicht.")
ID_TEMPLATE = N_("Moet een geheel getal zijn van 1 tot en met %(max)s.")
DATE_TEMPLATE = N_("Geen geldige datum; gebruik JJJJ-MM-DD met een jaar van %(min)s tot en met %(max)s.")
EMPTY_QUERY_DATE_TEMPLATE = N_("Lege datum: gebruik JJJJ-MM-DD met een jaar van %(min)s tot en met %(max)s, "
                               "of laat de parameter weg.")
TOO_LONG_TEMPLATE = N_("Te lang (maximaal %(max)s tekens).")
CHOOSE_TEMPLATE = N_("Kies uit: %(choices)s.")
ID_MESSAGE = ID_TEMPLATE % {"max": MAX_ID}
DATE_MESSAGE = DATE_TEMPLATE % {"min": MIN_YEAR, "max": MAX_YEAR}
EMPTY_QUERY_DATE_MESSAGE = EMPTY_QUERY_DATE_TEMPLATE % {"min": MIN_YEAR, "max": MAX_YEAR}
DATE_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
TEXT_PATTERN = r"^[^\u0000]*$"
REQUIRED_TEXT_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"

signals = Namespace()
schema_rejected = signals.signal("schema-rejected")
"""Sent with ``fields`` whenever the schema layer refuses a request (the fuzz test listens)."""

BASE_MESSAGES = {"required": REQUIRED_MESSAGE, "null": REQUIRED_MESSAGE, "invalid": N_("Ongeldige waarde.")}


def _template_pattern(template: str) -> re.Pattern:
    """A message template as a pattern that reads its ``%(name)s`` values back."""
    parts = re.split(r"%\((\w+)\)s", template)
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)))


_TEMPLATES = tuple((template, _template_pattern(template)) for template in (
    ID_TEMPLATE, DATE_TEMPLATE, EMPTY_QUERY_DATE_TEMPLATE, TOO_LONG_TEMPLATE, CHOOSE_TEMPLATE))


def translated(message: str) -> str:
    """A field message of the schema layer in the request's language (Dutch: as it is).
    A fixed message is its own catalogue id; one made from a template is read back and
    the template translated."""
    if texts.language() == texts.SOURCE_LANGUAGE:
        return message
    for template, pattern in _TEMPLATES:
        found = pattern.fullmatch(message)
        if found:
            return _(template, **found.groupdict())
    return _(message)


class Schema(ma.Schema):
    """Base of every API schema: unknown properties are ignored, as the API always did, and
    a field left out is loaded as None (its default), so a view reads every field it declared."""

    class Meta:
        unknown = ma.EXCLUDE

    @ma.post_load
    def _absent_is_none(self, data, **_kwargs):
        for name, field in self.load_fields.items():
            data.setdefault(field.attribute or name, None)
        return data


# ----------------------------------------------------------------------------- fields


class Id(ma.fields.Integer):
    """An id: 1 … 2³¹−1. In JSON an integer (not a boolean); in a query string its digits."""

    default_error_messages = {**BASE_MESSAGES, "invalid": ID_MESSAGE, "too_large": ID_MESSAGE}

    def __init__(self, *, in_query: bool = False, **kwargs):
        kwargs.setdefault("allow_none", not kwargs.get("required", False))
        super().__init__(strict=not in_query, validate=validate.Range(1, MAX_ID, error=ID_MESSAGE), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)  # JSON Schema: 12.0 is an integer
        if isinstance(value, bool) or (isinstance(value, str) and not (value.isascii() and value.isdigit()
                                                                        and len(value) <= 20)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Text(ma.fields.String):
    """A string of at most ``max_length`` characters, trimmed; an optional one given empty is null."""

    default_error_messages = {**BASE_MESSAGES, "invalid": N_("Moet tekst zijn.")}

    def __init__(self, max_length: int, *, required: bool = False, **kwargs):
        metadata = {"pattern": REQUIRED_TEXT_PATTERN if required else TEXT_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(required=required, allow_none=not required, metadata=metadata,
                         validate=validate.Length(max=max_length, error=TOO_LONG_TEMPLATE % {"max": max_length}),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        problem = bad_text(value)
        if problem:
            raise ma.ValidationError(problem)
        value = value.strip()
        if not value:
            if self.required:
                raise self.make_error("required")
            return None
        return value

    def _validate(self, value):
        if value is not None:
            super()._validate(value)


class Choice(ma.fields.String):
    """One of a fixed set of strings."""

    default_error_messages = {**BASE_MESSAGES, "invalid": N_("Moet tekst zijn.")}

    def __init__(self, choices, **kwargs):
        kwargs.setdefault("allow_none", not kwargs.get("required", False))
        super().__init__(validate=validate.OneOf(list(choices), error=CHOOSE_TEMPLATE % {"choices": ", ".join(choices)}), **kwargs)


def parse_date(value: Any) -> dt.date:
    """A ``YYYY-MM-DD`` string as a date with a year in MIN_YEAR … MAX_YEAR; ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError(value)
    day = dt.date.fromisoformat(value)
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(value)
    return day


class Date(ma.fields.Date):
    """A ``YYYY-MM-DD`` date with a year MIN_YEAR … MAX_YEAR.

    In a body an optional date given empty is null; in a query string (``in_query``) an
    empty one (``?on=``) is an error naming it, like a malformed one: leave it out for
    the default, it is never taken as today."""

    default_error_messages = {**BASE_MESSAGES, "invalid": DATE_MESSAGE, "empty": EMPTY_QUERY_DATE_MESSAGE}

    def __init__(self, *, in_query: bool = False, **kwargs):
        kwargs.setdefault("allow_none", not kwargs.get("required", False) and not in_query)
        metadata = {"pattern": DATE_PATTERN, "example": "2026-01-15", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.in_query = in_query

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "":
            if self.in_query:
                raise self.make_error("empty")
            if self.required:
                raise self.make_error("required")
            return None
        try:
            return parse_date(value)
        except ValueError:
            raise self.make_error("invalid") from None


class Flag(ma.fields.Boolean):
    """A JSON boolean (true/false only); null is false."""

    default_error_messages = {**BASE_MESSAGES, "invalid": N_("Moet true of false zijn.")}

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, truthy={True}, falsy={False}, load_default=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class IdList(ma.fields.List):
    """A list of ids."""

    default_error_messages = {**BASE_MESSAGES, "invalid": N_("Moet een lijst zijn van getallen.")}

    def __init__(self, **kwargs):
        if not kwargs.get("required"):
            kwargs.setdefault("load_default", list)
        super().__init__(Id(required=True), **kwargs)


class TextList(ma.fields.List):
    """A list of texts of at most ``max_length`` characters each."""

    default_error_messages = {**BASE_MESSAGES, "invalid": N_("Moet een lijst zijn van teksten.")}

    def __init__(self, max_length: int, **kwargs):
        if not kwargs.get("required"):
            kwargs.setdefault("load_default", list)
        super().__init__(Text(max_length, required=True), **kwargs)


def items(schema, **kwargs) -> ma.fields.List:
    """A list of objects of ``schema``."""
    kwargs.setdefault("error_messages", {**BASE_MESSAGES, "invalid": N_("Moet een lijst zijn.")})
    return ma.fields.List(ma.fields.Nested(schema, required=True), **kwargs)


# Answer fields (dump only): documented types, no input rules.
def out_date(**kwargs) -> ma.fields.Date:
    """A date in an answer, ``YYYY-MM-DD`` or null."""
    return ma.fields.Date(allow_none=True, **kwargs)


def out_str(**kwargs) -> ma.fields.String:
    """A string in an answer, or null."""
    return ma.fields.String(allow_none=True, **kwargs)


class ReasonSchema(Schema):
    """A reason of an answer: a stable ``code`` and a Dutch ``text``."""

    code = ma.fields.String(required=True)
    text = ma.fields.String(required=True)


def reasons(**kwargs) -> ma.fields.List:
    """A list of reasons (``registry.rules.Reason``)."""
    return ma.fields.List(ma.fields.Function(lambda r: r.as_dict() if hasattr(r, "as_dict") else r,
                                             metadata={"$ref": "#/components/schemas/Reason"}), **kwargs)


class ErrorSchema(Schema):
    """``{"error": {"code", "message", "fields"}}``: the one error shape of the API."""

    class Inner(Schema):
        code = ma.fields.String(required=True)
        message = ma.fields.String(required=True)
        fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)

    error = ma.fields.Nested(Inner, required=True)


# ----------------------------------------------------------------------------- decorators


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


def check_json_object() -> None:
    """The request body is a JSON object: 400 ``bad_json`` (too deep, not JSON, not an
    object) or 422 naming each string with NUL or a lone surrogate."""
    if request.is_json and json_too_deep(request.get_data(cache=True)):
        raise BadRequest(_("De JSON is dieper genest dan %(depth)s niveaus.", depth=MAX_JSON_DEPTH), code="bad_json")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # a parser without our depth check in front
        data = None
    if not isinstance(data, dict):
        raise BadRequest(_("De body moet een JSON-object zijn (Content-Type: application/json)."), code="bad_json")
    problems = bad_strings(data)
    if problems:
        raise ValidationError(_("Een veld bevat een teken dat niet kan worden opgeslagen (NUL of losse surrogaat)."),
                              {name: translated(message) for name, message in problems.items()})


def body(schema, *, description: str | None = None, access=None, optional: bool = False):
    """The view's JSON body, loaded by ``schema`` and passed as the first argument (422 on bad fields).

    ``access(**path_args)``, when given, runs first: a caller who may not act on the
    record gets its 404/403 before any word about the body, as the API always answered.
    ``optional``: a request without a body is read as ``{}`` (a body sent must still be
    a JSON object)."""
    from forms_service.api import bp

    use = bp.arguments(schema, location="json", error_status_code=422, description=description,
                       required=not optional)

    def decorator(view):
        parsed = use(view)

        @functools.wraps(parsed)
        def checked(*args, **kwargs):
            if access is not None:
                access(**kwargs)
            if not (optional and not request.get_data(cache=True)):
                check_json_object()
            return parsed(*args, **kwargs)

        return checked

    return decorator


def query(schema):
    """The view's query string, loaded by ``schema`` and passed as an argument (400 on bad parameters)."""
    from forms_service.api import bp

    return bp.arguments(schema, location="query", error_status_code=400)


def field_errors(messages: Any, path: str = "") -> dict[str, str]:
    """marshmallow's nested messages as the API's flat ``fields``: ``name``, ``roles.key``,
    ``cases[0].case_ref``; a list of scalars is named as a whole (``recipients``)."""
    out: dict[str, str] = {}
    if isinstance(messages, list):
        text = next((m for m in messages if isinstance(m, str)), None)
        if text is not None:
            out[path or "body"] = translated(text)
        return out
    if not isinstance(messages, dict):
        out[path or "body"] = str(messages)
        return out
    for key, value in messages.items():
        if isinstance(key, int):
            if isinstance(value, list):  # an item of a list of scalars: name the list
                out.setdefault(path or "body", field_errors(value).get("body", ""))
                continue
            name = f"{path}[{key}]"
        elif key == "_schema":
            name = path or "body"
        else:
            name = f"{path}.{printable(key)}" if path else printable(key)
        out.update(field_errors(value, name))
    return out


def rejected_fields(exc) -> dict[str, str] | None:
    """The flat ``fields`` of a webargs rejection (an ``HTTPException`` with ``data``), else None."""
    data = getattr(exc, "data", None)
    if not isinstance(data, dict) or "messages" not in data:
        return None
    messages = data["messages"]
    merged: dict[str, str] = {}
    for location_messages in (messages.values() if isinstance(messages, dict) else [messages]):
        merged.update(field_errors(location_messages))
    schema_rejected.send(request._get_current_object(), fields=merged)
    return merged


def file_answer(mimetype: str, description: str) -> dict:
    """``@bp.doc(**file_answer(...))``: a 200 whose body is a file of ``mimetype``."""
    return {"responses": {"200": {"description": description,
                                  "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}}}}}
